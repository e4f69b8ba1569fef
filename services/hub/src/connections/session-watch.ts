import type { Cluster, Redis } from "ioredis";
import { defineScripts, type Clock, type GlobalKeys, type Logger } from "@tether/core";

/** A session's liveness is trusted for this long per socket before dispatch or cancel asks again. */
export const SESSION_CHECK_MS = 1_000;
/** A socket's claim in its session's count lapses this long after its hub last refreshed it. */
export const SOCKET_CLAIM_MS = 10_000;

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
  private timer: NodeJS.Timeout | null = null;
  private lastClaim = 0;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: GlobalKeys,
    private readonly nodeId: string,
    private readonly maxPerSession: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The sockets held here now. */
    private readonly sockets: () => Iterable<WatchedSocket>,
    /** Close every socket of a session that is gone. */
    private readonly onGone: (sid: string) => void,
  ) {
    defineScripts(redis, "tetherClaimSocket", "tetherRefreshSession");
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

  /**
   * Count a socket of `sid` about to be upgraded, atomically across hubs (lua/claim-socket.lua):
   * lapsed claims dropped, refused past the limit. False when the session is at its limit.
   */
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

  /** Every session held here: gone → its sockets close; alive → its claims are refreshed (lua/refresh-session.lua). */
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
