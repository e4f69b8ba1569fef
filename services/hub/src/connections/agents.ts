import type { WebSocket } from "ws";
import type { Queue } from "bullmq";
import { AgentToHubSchema, CloseCode, ErrorCode, type AgentToHub, type Host } from "@tether/protocol";
import {
  offlineJobOptions,
  type Clock,
  type HostChannelMessage,
  type HostStore,
  type PartitionedKeys,
  type Logger,
  type Metrics,
  type OfflineCheckJob,
} from "@tether/core";
import type { Redis } from "ioredis";
import { AgentConn, type AgentConnShared } from "./agent-conn";
import { FramePolicy, sendError } from "./frame-guard";
import { KeepAlive, keptBy } from "./keepalive";
import { FrameRate } from "./rate-limit";
import type { Subscriptions } from "../subscriptions";

type RegisterPayload = Extract<AgentToHub, { type: "register" }>["payload"];

/** The host as a `register` frame describes it. */
function withRegistration(h: Host, p: RegisterPayload): Host {
  return {
    ...h,
    hostname: p.hostname,
    os: p.os ?? h.os,
    arch: p.arch ?? h.arch,
    version: p.version ?? h.version,
    labels: p.labels ?? h.labels,
  };
}

export interface AgentsDeps {
  redis: Redis;
  keys: PartitionedKeys;
  hosts: HostStore;
  presenceQueue: Queue<OfflineCheckJob>;
  subscriptions: Subscriptions;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  nodeId: string;
  pingIntervalMs: number;
  /** Sustained frames per second this kind of socket may send. */
  framesPerSec: number;
  /**
   * How long a new agent socket may stay silent before its host goes online without `register`
   * (REGISTER_GRACE_MS). Agents send `register` right after the handshake, so it is nearly always
   * one write, and a silent client still shows Online within this bound of its handshake.
   */
  registerGraceMs: number;
  offlineTimeoutMs: number;
  /** Frames about commands (output, command_finished), handled by the command relay. */
  onCommandFrame(conn: AgentConn, frame: Extract<AgentToHub, { type: "output" | "command_finished" }>): void;
  /** The agent registered: deliver what waits for it. */
  onRegistered(conn: AgentConn): void;
}

/*
 * The socket listeners: one function each for every agent socket (`this` is the socket; its
 * connection is its keepalive entry), so a socket costs no closure of its own (issue 15.4).
 */
function onMessage(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const conn = keptBy<AgentConn>(this);
  conn?.shared.message(conn, data, isBinary);
}

function onClose(this: WebSocket): void {
  const conn = keptBy<AgentConn>(this);
  conn?.shared.closed(conn);
}

function onError(this: WebSocket, err: Error): void {
  const conn = keptBy<AgentConn>(this);
  conn?.shared.error(conn, err);
}

/**
 * Agent sockets on this hub: presence (online on connect, an offline check scheduled on
 * disconnect), `register` and `heartbeat`, replacement and revocation across nodes.
 */
export class Agents {
  /** The current connection of each host held here. */
  readonly byHost = new Map<string, AgentConn>();
  /** Every socket accepted and not yet closed. */
  private readonly open = new Set<AgentConn>();
  /** Disconnect handlers still writing (shutdown waits for them). */
  private readonly leaving = new Set<Promise<void>>();

  private readonly keepAlive: KeepAlive;
  /** Frame rules, rate and the per-connection shared part: one of each for every agent socket. */
  private readonly frames: FramePolicy<typeof AgentToHubSchema>;
  private readonly rate: FrameRate;
  private readonly shared: AgentConnShared;
  constructor(private readonly deps: AgentsDeps) {
    this.keepAlive = new KeepAlive(deps.pingIntervalMs, deps.clock);
    this.frames = new FramePolicy(AgentToHubSchema, deps.clock, (code) => {
      deps.metrics.badFrames.inc({ kind: "agent", code });
      deps.metrics.framesOut("agent", "error").inc();
    });
    this.rate = new FrameRate(deps.framesPerSec, deps.framesPerSec * 4, deps.clock);
    this.shared = {
      clock: deps.clock,
      log: deps.log,
      onSend: (type) => deps.metrics.framesOut("agent", type).inc(),
      beforePing: async (conn) => {
        if (await conn.settled()) return true;
        conn.close(CloseCode.TRY_AGAIN_LATER, "could not store every frame; reconnect and resend");
        return false;
      },
      message: (conn, data, isBinary) => this.onMessage(conn, data, isBinary),
      closed: (conn) => this.onClose(conn),
      error: (conn, err) => deps.log.debug({ conn: conn.id, host: conn.hostId, err: err.message }, "socket error"),
    };
  }

  /** Take an authenticated agent socket; its `ready` settles once it is online (or gone). */
  accept(ws: WebSocket, hostId: string, tokenHash: string): AgentConn {
    const { deps } = this;
    const conn = new AgentConn(ws, hostId, tokenHash, this.shared);
    conn.tokens = this.rate.burst;
    conn.last = deps.clock.now();
    deps.metrics.sockets.inc({ kind: "agent" });
    this.open.add(conn);
    // The connection is its own keepalive entry, and the listeners find it there.
    this.keepAlive.keep(conn);
    // ws reports protocol errors (oversized or malformed frames) on "error", then closes the
    // socket with the matching code (1009, 1002, …); without a listener they would crash the hub.
    ws.on("error", onError);
    ws.on("message", onMessage);
    ws.on("close", onClose);
    // An agent registers right after the handshake; one that stays silent goes online anyway.
    conn.grace = deps.clock.setTimeout(() => this.begin(conn, undefined), deps.registerGraceMs);
    return conn;
  }

  /**
   * Frames wait for the presence write, then run in arrival order (Redis keeps the order of
   * commands sent on one connection, so appends need not be awaited one by one).
   */
  private onMessage(conn: AgentConn, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const { deps } = this;
    if (!this.rate.take(conn)) {
      deps.metrics.badFrames.inc({ kind: "agent", code: ErrorCode.RATE_LIMITED });
      conn.ws.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded");
      return;
    }
    const frame = this.frames.parse(conn.ws, conn, data, isBinary);
    if (!frame) return;
    deps.metrics.framesIn("agent", frame.type).inc();
    if (!conn.connecting && frame.type === "register") {
      // The usual first frame: going online and registering is one write and one event.
      this.begin(conn, frame.payload);
      return;
    }
    if (!conn.connecting) this.begin(conn, undefined);
    if (conn.epoch === 0) {
      void conn.ready.then((ok) => ok && this.handle(conn, frame));
    } else {
      this.handle(conn, frame);
    }
  }

  /** Start the presence write (once): on the first frame, or when the grace ran out. */
  private begin(conn: AgentConn, register: RegisterPayload | undefined): void {
    if (conn.connecting) return;
    conn.connecting = true;
    this.clearGrace(conn);
    void this.connect(conn, register);
  }

  private clearGrace(conn: AgentConn): void {
    if (conn.grace === undefined) return;
    this.deps.clock.clearTimeout(conn.grace);
    conn.grace = undefined;
  }

  private onClose(conn: AgentConn): void {
    const { deps } = this;
    this.keepAlive.drop(conn);
    if (!conn.connecting) {
      // Gone before going online: nothing was written, nothing to undo.
      conn.connecting = true;
      this.clearGrace(conn);
      conn.markReady(false);
    }
    conn.closed = true;
    this.open.delete(conn);
    deps.metrics.sockets.dec({ kind: "agent" });
    const done = this.disconnected(conn).finally(() => this.leaving.delete(done));
    this.leaving.add(done);
  }

  private handle(conn: AgentConn, frame: AgentToHub): void {
    if (frame.type === "register") {
      conn.registered = true;
      void this.register(conn, frame.payload);
      return;
    }
    if (!conn.registered) {
      this.frames.reject(conn.ws, conn, ErrorCode.NOT_REGISTERED, `send register before ${frame.type}`);
      return;
    }
    if (frame.type === "heartbeat") {
      void this.write(conn, (host) => ({ ...host, metrics: frame.payload.metrics ?? host.metrics, last_seen: this.deps.clock.now() }));
      return;
    }
    this.deps.onCommandFrame(conn, frame);
  }

  /**
   * Take the host: new epoch, online, this node, and (usually) the `register` details, in one
   * write and one event; older connections anywhere close with 4001.
   */
  private async connect(conn: AgentConn, register: RegisterPayload | undefined): Promise<void> {
    const { deps } = this;
    try {
      await deps.subscriptions.addHost(conn.hostId);
      let epoch = 0;
      const host = await deps.hosts.update(conn.hostId, (h, meta) => {
        if (meta.token !== conn.tokenHash) return null;
        epoch = meta.epoch + 1;
        const connected: HostChannelMessage = { kind: "connected", node: deps.nodeId, epoch };
        return {
          host: { ...(register ? withRegistration(h, register) : h), status: "online", last_seen: deps.clock.now() },
          meta: { epoch, node: deps.nodeId },
          extraOps: [
            { cmd: "HSET", key: deps.keys.forHost(conn.hostId).hubHosts(deps.nodeId), args: [conn.hostId, epoch] },
            { cmd: "PUBLISH", key: deps.keys.forHost(conn.hostId).hostChannel(conn.hostId), args: [JSON.stringify(connected)] },
          ],
        };
      });
      // Checked once, at the presence write: nothing reads it later.
      conn.tokenHash = "";
      if (!host) {
        conn.close(CloseCode.REVOKED, "token revoked");
        conn.markReady(false);
        return;
      }
      conn.epoch = epoch;
      if (conn.closed) {
        // Gone while we took the host: the close handler lets go of it and schedules the check.
        conn.markReady(true);
        return;
      }
      const previous = this.byHost.get(conn.hostId);
      this.byHost.set(conn.hostId, conn);
      if (previous && previous !== conn) previous.close(CloseCode.REPLACED, "replaced by a newer connection");
      this.deps.log.info({ conn: conn.id, host: conn.hostId, epoch }, "agent connected");
      if (register) {
        conn.registered = true;
        conn.send({ type: "registered", payload: { host_id: conn.hostId } });
      }
      conn.markReady(true);
      if (register) this.deps.onRegistered(conn);
    } catch (err) {
      this.deps.log.warn({ conn: conn.id, host: conn.hostId, err: (err as Error).message }, "agent connect failed");
      conn.markReady(false);
      conn.close(CloseCode.TRY_AGAIN_LATER, "hub cannot reach its store, retry");
    }
  }

  /** A `register` after the connection went online (a re-register, or a late one). */
  private async register(conn: AgentConn, p: RegisterPayload): Promise<void> {
    const host = await this.write(conn, (h) => ({ ...withRegistration(h, p), last_seen: this.deps.clock.now() }));
    if (!host) return;
    conn.send({ type: "registered", payload: { host_id: conn.hostId } });
    this.deps.onRegistered(conn);
  }

  /** Update the host while this connection is still the current one. */
  private async write(conn: AgentConn, change: (h: Host) => Host): Promise<Host | null> {
    try {
      return await conn.track(
        this.deps.hosts.update(
          conn.hostId,
          (h, meta) => (meta.epoch === conn.epoch && h.status === "online" ? { host: change(h) } : null),
          conn,
        ),
      );
    } catch (err) {
      // Once a minute at most per socket: a heartbeat flood against a failing store is one line.
      conn.warns.warn({ conn: conn.id, host: conn.hostId, err: (err as Error).message }, "host write failed");
      sendError(conn.ws, ErrorCode.UNAVAILABLE, "could not store the update, it will be retried");
      return null;
    }
  }

  /** The socket is gone: let go of the host and schedule its offline check. */
  private async disconnected(conn: AgentConn): Promise<void> {
    const { deps } = this;
    this.deps.log.info({ conn: conn.id, host: conn.hostId, epoch: conn.epoch }, "agent disconnected");
    if (this.byHost.get(conn.hostId) === conn) this.byHost.delete(conn.hostId);
    await deps.subscriptions.removeHost(conn.hostId).catch(() => undefined);
    if (!(await conn.ready)) return;
    try {
      const stillOurs = await deps.hosts.update(conn.hostId, (h, meta) =>
        meta.epoch === conn.epoch
          ? {
              // Only private state changes here: the public host (and so the log) stays as the
              // last frame left it, until the offline check decides.
              host: null,
              meta: { node: "" },
              extraOps: [{ cmd: "HDEL", key: deps.keys.forHost(conn.hostId).hubHosts(deps.nodeId), args: [conn.hostId] }],
            }
          : null,
      );
      // Replaced meanwhile: the newer connection owns the host (and, if it is on this node, the
      // entry in this hub's set), so there is nothing to let go of.
      if (!stillOurs) return;
      await deps.presenceQueue.add(
        "offline",
        { host_id: conn.hostId, epoch: conn.epoch },
        offlineJobOptions(conn.hostId, conn.epoch, deps.offlineTimeoutMs),
      );
    } catch (err) {
      // The hub's liveness key keeps the host in its set; the worker's sweep is the safety net.
      this.deps.log.warn({ conn: conn.id, host: conn.hostId, err: (err as Error).message }, "could not schedule offline check");
    }
  }

  /** A message on a host channel this hub listens to. */
  onHostMessage(hostId: string, msg: HostChannelMessage): AgentConn | undefined {
    const conn = this.byHost.get(hostId);
    if (!conn) return undefined;
    if (msg.kind === "connected" && msg.epoch > conn.epoch && conn.epoch !== 0) {
      conn.close(CloseCode.REPLACED, "replaced by a newer connection");
      this.byHost.delete(hostId);
      return undefined;
    }
    if (msg.kind === "revoked") {
      conn.close(CloseCode.REVOKED, "token revoked");
      this.byHost.delete(hostId);
      return undefined;
    }
    return conn;
  }

  /**
   * Graceful shutdown, step one: schedule the offline check of every host held here now, with
   * the full timeout, before any socket closes. Whether or not a close handshake completes in
   * time, each host then turns offline no sooner than OFFLINE_TIMEOUT_MS, and not at all if its
   * agent reconnects elsewhere (a newer epoch voids the check).
   */
  async handOver(): Promise<void> {
    const { deps } = this;
    const held = [...this.byHost.values()].filter((c) => c.epoch > 0 && !c.closed);
    await Promise.all(
      held.map((c) =>
        deps.presenceQueue.add(
          "offline",
          { host_id: c.hostId, epoch: c.epoch },
          offlineJobOptions(c.hostId, c.epoch, deps.offlineTimeoutMs),
        ),
      ),
    ).catch((err: Error) => deps.log.warn({ err: err.message }, "could not schedule offline checks at shutdown"));
  }

  /** Resolves when every socket has closed and its disconnect handler finished, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = new Promise((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.all([...this.open].map((c) => c.gone())), deadline]);
    await Promise.race([Promise.all(this.leaving), deadline]);
  }

  closeAll(code: number, reason: string): void {
    this.keepAlive.stop();
    for (const conn of this.open) conn.close(code, reason);
  }
}
