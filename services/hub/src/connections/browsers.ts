import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import { CloseCode, ErrorCode, BrowserToHubSchema, type BrowserToHub } from "@tether/protocol";
import { DEFAULT_TEAM } from "@tether/protocol";
import {
  ORIGIN_ID,
  audienceSees,
  envelopeOf,
  eventIdMs,
  formatEventId,
  formatFrame,
  frameId,
  frameType,
  readEnvelope,
  sameEpoch,
  type Audience,
  type Clock,
  type EventLog,
  type Keys,
  type Logger,
  type Metrics,
  type Principal,
  type UserStore,
} from "@tether/core";
import type { Redis } from "ioredis";
import { BrowserConn, wireFrame, type WireEvent } from "./browser-conn";
import { FrameGuard, sendError } from "./frame-guard";
import { KeepAlive } from "./keepalive";
import { FrameRateLimit } from "./rate-limit";
import { WarnLimit } from "./warn-limit";
import { SESSION_CHECK_MS, type SessionWatch } from "./session-watch";

/** How many times a backfill is retried (with backoff up to 2 s) before browsers are cut loose. */
const BACKFILL_ATTEMPTS = 10;
/** Replay reads the log in pages of this many events. */
const REPLAY_PAGE = 1000;

/** Browser sockets that may see the same hosts: a live event is checked once per group. */
interface Group {
  audience: Audience;
  conns: Set<BrowserConn>;
}

export interface BrowsersDeps {
  redis: Redis;
  keys: Keys;
  users: UserStore;
  eventLog: EventLog;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  pingIntervalMs: number;
  /** Sustained frames per second this kind of socket may send. */
  framesPerSec: number;
  maxBufferedBytes: number;
  /** Browser frames other than the fleet stream (dispatch, cancel). */
  onFrame(conn: BrowserConn, frame: BrowserToHub): Promise<void>;
  /** Whether the socket's session is still alive (cached ≤ 1 s), and its claim's release on close. */
  sessions: Pick<SessionWatch, "alive" | "release">;
  /** The events channel, held while this socket is open (see Subscriptions.holdEvents). */
  events: { hold(): Promise<void>; release(): void };
}

/**
 * Every browser socket this hub holds, and the relay of fleet events to them: a snapshot or a
 * replay first, then live events, with no gap and no duplicate (DESIGN "Event sourcing").
 */
export class Browsers {
  readonly conns = new Set<BrowserConn>();
  /** The same sockets by audience (CONTRACT §4): fan-out asks the policy once per group. */
  private readonly groups = new Map<string, Group>();
  /** Newest event relayed live; where a broken subscription backfills from. */
  private lastRelayedId = "";
  /** While backfilling, live frames wait here so order is kept. */
  private held: Buffer[] | null = null;

  private readonly keepAlive: KeepAlive;

  constructor(private readonly deps: BrowsersDeps) {
    this.keepAlive = new KeepAlive(deps.pingIntervalMs, deps.clock);
  }

  /** Take a new browser socket: sync it (snapshot or replay from `after`), then go live. */
  accept(ws: WebSocket, sid: string, claim: string, principal: Principal, after: string | null): void {
    const { deps } = this;
    const conn = new BrowserConn(ws, sid, claim, principal, deps.maxBufferedBytes, () => deps.metrics.slowConsumers.inc());
    // Just authenticated at the upgrade: alive as of now.
    conn.sessionFreshUntil = deps.clock.now() + SESSION_CHECK_MS;
    const log = deps.log.child({ conn: randomBytes(4).toString("hex"), user: principal.userId });
    log.debug({ after }, "browser connected");
    this.conns.add(conn);
    let group = this.groups.get(conn.audienceKey);
    if (!group) {
      group = { audience: conn.audience, conns: new Set() };
      this.groups.set(conn.audienceKey, group);
    }
    group.conns.add(conn);
    deps.metrics.sockets.inc({ kind: "browser" });
    const hearing = deps.events.hold();
    const stopPing = this.keepAlive.add(ws);
    // ws reports protocol errors (oversized or malformed frames) here, then closes the socket
    // with the matching code (1009, 1002, …); without a listener they would crash the hub.
    ws.on("error", (err) => log.debug({ err: err.message }, "socket error"));
    const guard = new FrameGuard(ws, BrowserToHubSchema, deps.clock, (code) => {
      deps.metrics.badFrames.inc({ kind: "browser", code });
      deps.metrics.framesOut("browser", "error").inc();
    });
    const limit = new FrameRateLimit(deps.framesPerSec, deps.framesPerSec * 5, deps.clock);
    const warns = new WarnLimit(log, deps.clock);
    ws.on("message", (data, isBinary) => {
      if (!limit.take()) {
        deps.metrics.badFrames.inc({ kind: "browser", code: ErrorCode.RATE_LIMITED });
        ws.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded");
        return;
      }
      const frame = guard.parse(data, isBinary);
      if (!frame) return;
      deps.metrics.framesIn("browser", frame.type).inc();
      const failed = (err: Error) => {
        warns.warn({ err: err.message }, "browser frame failed");
        sendError(ws, ErrorCode.UNAVAILABLE, "could not handle the frame, try again");
      };
      const run = () => void deps.onFrame(conn, frame).catch(failed);
      // Every dispatch and cancel acts only for a live session: asked again once the last answer
      // is over a second old; frames that arrive meanwhile wait for the same answer, in order.
      if (!conn.sessionCheck && deps.clock.now() < conn.sessionFreshUntil) return run();
      conn.sessionCheck ??= deps.sessions.alive(conn).finally(() => (conn.sessionCheck = undefined));
      conn.sessionCheck.then((ok) => (ok ? run() : conn.close(CloseCode.REVOKED, "session expired or logged out")), failed);
    });
    ws.on("close", () => {
      stopPing();
      conn.closed = true;
      this.conns.delete(conn);
      deps.sessions.release(sid, claim);
      const g = this.groups.get(conn.audienceKey);
      g?.conns.delete(conn);
      if (g?.conns.size === 0) this.groups.delete(conn.audienceKey);
      deps.metrics.sockets.dec({ kind: "browser" });
      deps.events.release();
    });
    this.sync(conn, after, hearing).catch((err: Error) => {
      log.warn({ err: err.message }, "browser sync failed");
      conn.close(CloseCode.TRY_AGAIN_LATER, "sync failed, resume later");
    });
  }

  private async sync(conn: BrowserConn, after: string | null, hearing: Promise<void>): Promise<void> {
    // Hear the live events before reading where the socket starts: none falls in between.
    await hearing;
    // The rights were read at the upgrade, before this socket could hear of a change: read them
    // again now that it would, so a change in between is never missed.
    if (!(await this.rightsStillHold(conn))) return;
    const point = after === null ? null : await this.deps.eventLog.resumePoint(after);
    if (point) {
      await this.replay(conn, point.epoch, point.streamId);
    } else {
      await this.sendSnapshot(conn, after !== null);
    }
    conn.goLive();
  }

  /** Close a socket whose user is gone (4401) or whose rights differ from its own (4403). */
  private async rightsStillHold(conn: BrowserConn): Promise<boolean> {
    const record = await this.deps.users.readRecord(conn.userId);
    if (!record) {
      conn.close(CloseCode.REVOKED, "user deleted");
      return false;
    }
    const teams = record.role === "admin" ? null : record.teams;
    if (record.role !== conn.principal.role || JSON.stringify(teams) !== JSON.stringify(conn.principal.teams)) {
      conn.close(CloseCode.RIGHTS_CHANGED, "rights changed, reconnect");
      return false;
    }
    return true;
  }

  /**
   * `hosts` frame whose id is the newest event it reflects; read atomically with that id. Only
   * the hosts of the socket's teams, by the host-teams hash (no host JSON is parsed).
   */
  private async sendSnapshot(conn: BrowserConn, resync: boolean): Promise<void> {
    const { redis, keys, clock } = this.deps;
    const res = (await redis
      .multi()
      .hgetall(keys.hosts)
      .xrevrange(keys.log, "+", "-", "COUNT", 1)
      .get(keys.logEpoch)
      .hgetall(keys.hostTeams)
      .exec()) as [
      [unknown, Record<string, string>],
      [unknown, Array<[string, string[]]>],
      [unknown, string | null],
      [unknown, Record<string, string>],
    ];
    const teams = res[3][1];
    const hosts = Object.entries(res[0][1])
      .filter(([id]) => audienceSees(conn.audience, teams[id] ?? DEFAULT_TEAM, ""))
      .map(([, json]) => json);
    const last = res[1][1][0];
    const epoch = res[2][1] ?? "";
    const id = last ? formatEventId(last[0], epoch) : ORIGIN_ID;
    const ts = last ? Number(last[0].slice(0, last[0].indexOf("-"))) : clock.now();
    conn.lastSentId = id;
    this.deps.metrics.framesOut("browser", "hosts").inc();
    await conn.sendPaced(null, formatFrame("hosts", id, ts, `{"hosts":[${hosts.join(",")}]${resync ? ',"resync":true' : ""}}`));
  }

  /** Every event after `streamId`, page by page, paced by the socket. */
  private async replay(conn: BrowserConn, epoch: string, streamId: string): Promise<void> {
    let from = streamId;
    for (;;) {
      const { entries, lastStreamId } = await this.deps.eventLog.readFrames(epoch, from, REPLAY_PAGE);
      for (const e of entries) {
        if (!audienceSees(conn.audience, e.team, e.except)) continue;
        const f = e.frame;
        const head = Buffer.from(f.slice(0, 160), "latin1");
        this.deps.metrics.framesOut("browser", frameType(head)).inc();
        await conn.sendPaced(frameId(head), f);
      }
      if (conn.closed || entries.length < REPLAY_PAGE || !lastStreamId) return;
      from = lastStreamId;
    }
  }

  /** A fleet event from the subscription. */
  relay(frame: Buffer): void {
    if (this.held) {
      this.held.push(frame);
      return;
    }
    this.deliver(frame);
  }

  /**
   * One published message: the envelope naming its audience, then a frame or several (a run of
   * output) separated by newlines. Framed once, written to each group that may see it.
   */
  private deliver(envelope: Buffer): void {
    const env = readEnvelope(envelope);
    const message = env ? env.body : envelope;
    if (this.conns.size === 0) {
      // Nobody to send to: only remember where the relay is (a later backfill starts there).
      const nl = message.lastIndexOf(10);
      const id = frameId(nl < 0 ? message : message.subarray(nl + 1));
      if (id && (id > this.lastRelayedId || !sameEpoch(id, this.lastRelayedId))) this.lastRelayedId = id;
      return;
    }
    const fresh: WireEvent[] = [];
    for (let start = 0; start < message.length;) {
      const nl = message.indexOf(10, start);
      const end = nl < 0 ? message.length : nl;
      const frame = start === 0 && end === message.length ? message : message.subarray(start, end);
      start = end + 1;
      const id = frameId(frame);
      if (!id) continue;
      if (this.lastRelayedId && !sameEpoch(id, this.lastRelayedId)) {
        // Redis lost its log: every browser must resync from a fresh snapshot.
        this.deps.log.warn("event log epoch changed; asking browsers to resync");
        this.lastRelayedId = id;
        for (const c of this.conns) c.close(CloseCode.TRY_AGAIN_LATER, "event log reset, resume");
        return;
      }
      if (id <= this.lastRelayedId) continue;
      this.lastRelayedId = id;
      fresh.push({ id, frame, wire: wireFrame(frame) });
    }
    const first = fresh[0];
    if (!first) return;
    this.deps.metrics.relayLagSeconds.observe(Math.max(0, this.deps.clock.now() - eventIdMs(first.id)) / 1000);
    const team = env ? env.team : DEFAULT_TEAM;
    const except = env ? env.except : "";
    let reached = 0;
    for (const group of this.groups.values()) {
      if (!audienceSees(group.audience, team, except)) continue;
      for (const c of group.conns) c.offer(fresh);
      reached += group.conns.size;
    }
    if (reached > 0) {
      for (const f of fresh) this.deps.metrics.framesOut("browser", frameType(f.frame)).inc(reached);
    }
  }

  /**
   * The subscription broke and came back: Pub/Sub dropped whatever was published meanwhile, so
   * read it from the log (after the last id relayed) before relaying live frames again.
   */
  async backfill(): Promise<void> {
    // No live event relayed yet since the channel was subscribed: start where the earliest socket is.
    this.lastRelayedId ||= this.earliestSent();
    if (!this.lastRelayedId || this.held) return;
    this.held = [];
    try {
      // Redis may still be loading or flapping: keep trying for a while before giving up on
      // the browsers (who then resume by themselves).
      for (let attempt = 0; ; attempt++) {
        try {
          await this.backfillOnce();
          return;
        } catch (err) {
          if (attempt >= BACKFILL_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
        }
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "backfill failed; asking browsers to resume");
      for (const c of this.conns) c.close(CloseCode.TRY_AGAIN_LATER, "relay interrupted, resume");
    } finally {
      const held = this.held ?? [];
      this.held = null;
      for (const f of held) this.deliver(f);
    }
  }

  private async backfillOnce(): Promise<void> {
    const point = await this.deps.eventLog.resumePoint(this.lastRelayedId);
    if (!point) {
      this.deps.log.warn("event log reset while the subscription was down; asking browsers to resync");
      for (const c of this.conns) c.close(CloseCode.TRY_AGAIN_LATER, "event log reset, resume");
      this.lastRelayedId = "";
      return;
    }
    let from = point.streamId;
    for (;;) {
      const { entries, lastStreamId } = await this.deps.eventLog.readFrames(point.epoch, from, REPLAY_PAGE);
      for (const e of entries) this.deliver(Buffer.from(envelopeOf(e)));
      if (entries.length < REPLAY_PAGE || !lastStreamId) return;
      from = lastStreamId;
    }
  }

  /** The smallest id sent to a socket that has one ('' when none has). */
  private earliestSent(): string {
    let min = "";
    for (const c of this.conns) if (c.lastSentId && (!min || c.lastSentId < min)) min = c.lastSentId;
    return min;
  }

  /** The events channel was let go with no socket here: the next one starts from its own sync. */
  eventsDropped(): void {
    if (this.conns.size === 0) this.lastRelayedId = "";
  }

  /** Close the sockets of a session that was logged out, expired or deleted. */
  revokeSession(sid: string, reason = "logged out"): void {
    for (const c of this.conns) if (c.sid === sid) c.close(CloseCode.REVOKED, reason);
  }

  /** A user's rights changed (4403: reconnect with the new ones) or it was deleted (4401). */
  revokeUser(userId: string, code: typeof CloseCode.RIGHTS_CHANGED | typeof CloseCode.REVOKED): void {
    const reason = code === CloseCode.REVOKED ? "user deleted" : "rights changed, reconnect";
    for (const c of this.conns) if (c.userId === userId) c.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    this.keepAlive.stop();
    for (const c of this.conns) c.close(code, reason);
  }
}
