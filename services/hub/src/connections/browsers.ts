import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import { CloseCode, ErrorCode, BrowserToHubSchema, type BrowserToHub } from "@tether/protocol";
import { DEFAULT_TEAM } from "@tether/protocol";
import {
  HEAD_LENGTH,
  ORIGIN_ID,
  audienceSees,
  cursorId,
  envelopeOf,
  formatFrame,
  frameId,
  frameType,
  headOf,
  readEnvelope,
  withId,
  type Audience,
  type Clock,
  type Keys,
  type LogReader,
  type LogStart,
  type Logger,
  type Metrics,
  type Principal,
  type UserStore,
} from "@tether/core";
import type { Cluster, Redis } from "ioredis";
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
  redis: Redis | Cluster;
  /** Each partition's keys (index = partition). */
  partitions: readonly Keys[];
  users: UserStore;
  /** The log of every partition, read as one. */
  reader: LogReader;
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
  /** The events channels, held while this socket is open (see Subscriptions.holdEvents). */
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
  /**
   * Where the live relay stands while the events channels are heard: per partition the head of
   * the newest event relayed ('' = none yet) and its log's epoch. Null until based (see
   * {@link based}). It is where a broken subscription backfills from, and with more than one
   * partition the cursor every relayed frame carries (framed once for every socket).
   */
  private relayed: { heads: string[]; epochs: string[] } | null = null;
  private basing: Promise<void> | null = null;
  /** While basing or backfilling, live messages wait here (with their partition) so order is kept. */
  private held: Array<[Buffer, number]> | null = null;

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
    const hearing = deps.events.hold().then(() => this.based());
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
    const start = after === null ? null : await this.deps.reader.resume(after);
    if (start) {
      await this.replay(conn, start);
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
   * `hosts` frame whose id is the newest event it reflects, in every partition: each partition
   * read atomically with its position. Only the hosts of the socket's teams, by the host-teams
   * hash (no host JSON is parsed).
   */
  private async sendSnapshot(conn: BrowserConn, resync: boolean): Promise<void> {
    const { clock } = this.deps;
    const parts = await Promise.all(this.deps.partitions.map((keys) => this.readPartition(conn, keys)));
    const heads = parts.map((part) => part.head);
    const epochs = parts.map((part) => part.epoch);
    let at = 0;
    heads.forEach((h, p) => (h > heads[at]! ? (at = p) : undefined));
    const id = heads[at] ? cursorId(at, heads, epochs) : ORIGIN_ID;
    const ts = heads[at] ? Number(heads[at]!.slice(0, 13)) : clock.now();
    conn.sent = heads;
    this.deps.metrics.framesOut("browser", "hosts").inc();
    const hosts = parts.flatMap((part) => part.hosts).join(",");
    await conn.sendPaced(formatFrame("hosts", id, ts, `{"hosts":[${hosts}]${resync ? ',"resync":true' : ""}}`));
  }

  /** One partition's hosts the socket may see, its newest event's head and its epoch, as of one moment. */
  private async readPartition(conn: BrowserConn, keys: Keys): Promise<{ hosts: string[]; head: string; epoch: string }> {
    const res = (await this.deps.redis
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
    return { hosts, head: last ? headOf(last[0]) : "", epoch: res[2][1] ?? "" };
  }

  /** Every event after `start`, the partitions merged by time, paced by the socket; each id the socket's own cursor. */
  private async replay(conn: BrowserConn, start: LogStart): Promise<void> {
    const sent = start.positions.map(headOf);
    conn.sent = sent;
    const single = sent.length === 1;
    for await (const e of this.deps.reader.read(start, REPLAY_PAGE)) {
      if (conn.closed) return;
      sent[e.p] = e.head;
      if (!audienceSees(conn.audience, e.team, e.except)) continue;
      const frame = single ? e.frame : withId(e.frame, cursorId(e.p, sent, start.epochs));
      this.deps.metrics.framesOut("browser", frameType(Buffer.from(frame.slice(0, 64), "latin1"))).inc();
      await conn.sendPaced(frame);
    }
  }

  /**
   * The relay's starting point, once the events channels are heard: each partition's newest
   * event and epoch, read after the subscriptions were confirmed, so every later event arrives
   * live. Shared by the sockets that arrive meanwhile; live messages wait until it is known.
   */
  private based(): Promise<void> {
    if (this.relayed) return Promise.resolve();
    this.basing ??= (async () => {
      this.held ??= [];
      try {
        this.relayed = await this.readTails();
      } finally {
        this.basing = null;
        this.flushHeld();
      }
    })();
    return this.basing;
  }

  /** Each partition's newest event's head and its epoch ('' where none). */
  private async readTails(): Promise<{ heads: string[]; epochs: string[] }> {
    const tails = await Promise.all(
      this.deps.partitions.map(async (keys) => {
        const [[, last], [, epoch]] = (await this.deps.redis
          .multi()
          .xrevrange(keys.log, "+", "-", "COUNT", 1)
          .get(keys.logEpoch)
          .exec()) as [[unknown, Array<[string, string[]]>], [unknown, string | null]];
        return { head: last[0] ? headOf(last[0][0]) : "", epoch: epoch ?? "" };
      }),
    );
    return { heads: tails.map((t) => t.head), epochs: tails.map((t) => t.epoch) };
  }

  private flushHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const [message, p] of held) this.deliver(message, p);
  }

  /** A fleet event message of partition `p` from the subscription. */
  relay(message: Buffer, p: number): void {
    if (this.held) {
      this.held.push([message, p]);
      return;
    }
    this.deliver(message, p);
  }

  /**
   * One published message: the envelope naming its audience, then a frame or several (a run of
   * output) separated by newlines. Framed once, written to each group that may see it. With
   * more than one partition each frame's id becomes the relay's cursor (all partitions'
   * positions), still once for every socket.
   */
  private deliver(envelope: Buffer, p: number): void {
    const relayed = this.relayed;
    // Not hearing for anyone (the channels were let go): the next socket's basing reads the tails.
    if (!relayed) return;
    const env = readEnvelope(envelope);
    const message = env ? env.body : envelope;
    const single = relayed.heads.length === 1;
    const fresh: WireEvent[] = [];
    for (let start = 0; start < message.length;) {
      const nl = message.indexOf(10, start);
      const end = nl < 0 ? message.length : nl;
      let frame = start === 0 && end === message.length ? message : message.subarray(start, end);
      start = end + 1;
      const id = frameId(frame);
      if (!id) continue;
      const head = id.slice(0, HEAD_LENGTH);
      const epoch = id.slice(HEAD_LENGTH + 1);
      if (relayed.epochs[p] !== epoch) {
        if (relayed.epochs[p]) {
          // Redis lost this partition's log: every browser must resync from a fresh snapshot.
          this.deps.log.warn({ partition: p }, "event log epoch changed; asking browsers to resync");
          relayed.epochs[p] = epoch;
          relayed.heads[p] = head;
          for (const c of this.conns) c.close(CloseCode.TRY_AGAIN_LATER, "event log reset, resume");
          return;
        }
        // The partition's first event ever: its epoch is born with it.
        relayed.epochs[p] = epoch;
      }
      if (head <= relayed.heads[p]!) continue;
      relayed.heads[p] = head;
      if (this.conns.size === 0) continue;
      if (single) {
        fresh.push({ p, head, frame, wire: wireFrame(frame) });
      } else {
        const heads = [...relayed.heads];
        frame = Buffer.from(withId(frame.toString(), cursorId(p, heads, relayed.epochs)));
        fresh.push({ p, head, frame, wire: wireFrame(frame), heads, epochs: relayed.epochs });
      }
    }
    const first = fresh[0];
    if (!first) return;
    this.deps.metrics.relayLagSeconds.observe(Math.max(0, this.deps.clock.now() - Number(first.head.slice(0, 13))) / 1000);
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
   * read it from the log (after what was relayed, in every partition) before relaying live
   * frames again.
   */
  async backfill(): Promise<void> {
    await this.basing?.catch(() => undefined);
    if (!this.relayed || this.held) return;
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
      this.flushHeld();
    }
  }

  private async backfillOnce(): Promise<void> {
    const relayed = this.relayed!;
    const start = await this.deps.reader.resume(cursorId(0, relayed.heads, relayed.epochs));
    if (!start) {
      this.deps.log.warn("event log reset while the subscription was down; asking browsers to resync");
      for (const c of this.conns) c.close(CloseCode.TRY_AGAIN_LATER, "event log reset, resume");
      // Start again from the log as it is now (the channels are still heard; what waits meanwhile is sorted out by its head).
      this.relayed = await this.readTails();
      return;
    }
    for await (const e of this.deps.reader.read(start, REPLAY_PAGE)) this.deliver(Buffer.from(envelopeOf(e)), e.p);
  }

  /** The events channels were let go with no socket here: the next one bases the relay again. */
  eventsDropped(): void {
    if (this.conns.size === 0) this.relayed = null;
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
