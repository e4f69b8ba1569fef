import type { Redis } from "ioredis";
import type { Clock, Keys, Logger } from "@tether/core";

/** A session's liveness is trusted for this long per socket before dispatch or cancel asks again. */
export const SESSION_CHECK_MS = 1_000;
/** A socket's claim in its session's count lapses this long after its hub last refreshed it. */
export const SOCKET_CLAIM_MS = 10_000;

/**
 * Count a new socket against its session, atomically across hubs: drop lapsed claims, refuse past
 * the limit, else add this one. KEYS: the session's socket set. ARGV: now, lapse time, member,
 * limit, key lifetime (ms). Returns 1 when claimed, 0 when the session is at its limit.
 */
const CLAIM_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/**
 * One session's check on a tick: 0 if its session is gone (expired or deleted in the store), else
 * its claims here are pushed back and 1. KEYS: session key, socket set. ARGV: lapse time, key
 * lifetime, members…
 */
const REFRESH_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], unpack(ARGV, 3))
  return 0
end
for i = 3, #ARGV do redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

type RedisWithWatch = Redis & {
  tetherClaimSocket(...keysThenArgs: Array<string | number>): Promise<number>;
  tetherRefreshSession(...keysThenArgs: Array<string | number>): Promise<number>;
};

/** What the watch needs to know of a browser socket. */
export interface WatchedSocket {
  readonly sid: string;
  /** Its member in the session's socket set. */
  readonly claim: string;
  /** Until when its session is known to be alive (ms). */
  sessionFreshUntil: number;
}

/**
 * Browser sockets follow their session (issue 11): each counts against MAX_SOCKETS_PER_SESSION
 * across every hub, and a session that expired or was deleted in the store closes its sockets
 * (4401) within about a second, found by a tick that checks every session held here; dispatch and
 * cancel check it themselves when the last check is over a second old.
 */
export class SessionWatch {
  private readonly redis: RedisWithWatch;
  private timer: NodeJS.Timeout | null = null;
  private lastClaim = 0;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly maxPerSession: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The sockets held here now. */
    private readonly sockets: () => Iterable<WatchedSocket>,
    /** Close every socket of a session that is gone. */
    private readonly onGone: (sid: string) => void,
  ) {
    this.redis = redis as RedisWithWatch;
    if (typeof this.redis.tetherClaimSocket !== "function") {
      redis.defineCommand("tetherClaimSocket", { lua: CLAIM_LUA, numberOfKeys: 1 });
      redis.defineCommand("tetherRefreshSession", { lua: REFRESH_LUA, numberOfKeys: 2 });
    }
  }

  start(): void {
    this.timer = this.clock.setInterval(() => {
      this.tick().catch((err: Error) => this.log.warn({ err: err.message }, "session check failed"));
    }, SESSION_CHECK_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** A member name for a new socket's claim, unique across hubs. */
  newClaim(): string {
    return `${this.nodeId}:${(++this.lastClaim).toString(36)}`;
  }

  /** Count a socket of `sid` about to be upgraded; false when the session is at its limit. */
  async claim(sid: string, member: string): Promise<boolean> {
    const now = this.clock.now();
    const res = await this.redis.tetherClaimSocket(
      this.keys.sessionSockets(sid),
      now,
      now + SOCKET_CLAIM_MS,
      member,
      this.maxPerSession,
      SOCKET_CLAIM_MS,
    );
    return res === 1;
  }

  /** The socket closed: it no longer counts. */
  release(sid: string, member: string): void {
    this.redis.zrem(this.keys.sessionSockets(sid), member).catch(() => undefined);
  }

  /** Whether the socket's session is alive, asking the store only when the last answer is over a second old. */
  async alive(socket: WatchedSocket): Promise<boolean> {
    const asked = this.clock.now();
    if (asked < socket.sessionFreshUntil) return true;
    const ok = (await this.redis.exists(this.keys.session(socket.sid))) === 1;
    if (ok) socket.sessionFreshUntil = Math.max(socket.sessionFreshUntil, asked + SESSION_CHECK_MS);
    return ok;
  }

  /** Every session held here: gone → its sockets close; alive → its claims are refreshed. */
  async tick(): Promise<void> {
    const bySid = new Map<string, WatchedSocket[]>();
    for (const s of this.sockets()) {
      const list = bySid.get(s.sid);
      if (list) list.push(s);
      else bySid.set(s.sid, [s]);
    }
    const asked = this.clock.now();
    await Promise.all(
      [...bySid].map(async ([sid, list]) => {
        const ok = await this.redis.tetherRefreshSession(
          this.keys.session(sid),
          this.keys.sessionSockets(sid),
          asked + SOCKET_CLAIM_MS,
          SOCKET_CLAIM_MS,
          ...list.map((s) => s.claim),
        );
        if (ok === 1) for (const s of list) s.sessionFreshUntil = Math.max(s.sessionFreshUntil, asked + SESSION_CHECK_MS);
        else this.onGone(sid);
      }),
    );
  }
}
