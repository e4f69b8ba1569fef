import type { WebSocket } from "ws";
import type { Host, OutputFrame } from "@tether/protocol";
import type { Clock, Logger, RecordCache } from "@tether/core";
import { WarnLimit } from "./warn-limit";
import type { BadFrames } from "./frame-guard";
import type { KeepAliveEntry } from "./keepalive";
import type { Bucket } from "./rate-limit";

/** Connection ids: unique in this process, which every log line names (`node`). */
let lastId = 0;

/** Writes in flight at which the hub stops reading an agent's socket, and resumes. */
const PAUSE_AT = 16;
const RESUME_AT = 4;

/** What every agent connection of a hub shares (one object, not a copy per socket). */
export interface AgentConnShared {
  clock: Clock;
  log: Logger;
  /** A frame of `type` was sent (the metrics counter). */
  onSend(type: string): void;
  /** Called before each ping (see KeepAlive): resolves false when no ping may go out. */
  beforePing(conn: AgentConn): Promise<boolean>;
  /** The socket's events, handled by the hub's Agents. */
  message(conn: AgentConn, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void;
  closed(conn: AgentConn): void;
  error(conn: AgentConn, err: Error): void;
}

const READY = Promise.resolve(true);
const NOT_READY = Promise.resolve(false);

/**
 * One agent socket and what the hub knows of it. Everything a socket needs is a field here (its
 * keepalive entry, rate bucket, bad-frame times, grace timer): a hub holding 10,000 idle agents
 * holds 10,000 of these and no closure, listener or helper object per socket (issue 15.4).
 */
export class AgentConn implements KeepAliveEntry, Bucket, BadFrames, RecordCache<Host> {
  /** The presence write has started (on `register`, on another first frame, or after a grace). */
  connecting = false;
  /** Connection epoch given by the presence write; 0 until it is done. */
  epoch = 0;
  registered = false;
  closed = false;
  /** Resolves true once this connection holds the host (false: revoked or replaced first). */
  ready: Promise<boolean>;
  private resolveReady: ((ok: boolean) => void) | undefined;

  /** Connection id, in every log line about this socket. */
  readonly id = (++lastId).toString(36);

  // KeepAliveEntry
  alive = true;
  slot = -1;
  // Bucket (the frame rate limit)
  tokens = 0;
  last = 0;
  /** BadFrames: made at the first bad frame. */
  badAt: number[] | undefined = undefined;
  /** Until the presence write starts: the register grace timer. */
  grace: NodeJS.Timeout | undefined = undefined;
  /**
   * RecordCache: the host as this connection's last heartbeat or register left it, so the next
   * one is one Redis call (a guarded write) rather than a read and a write. Set by the first.
   */
  known: RecordCache<Host>["known"] = undefined;

  constructor(
    readonly ws: WebSocket,
    readonly hostId: string,
    /** The token's hash, until the presence write checked it (then "": the socket holds no copy). */
    public tokenHash: string,
    readonly shared: AgentConnShared,
  ) {
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  /** Settle {@link ready} (the first call counts). */
  markReady(ok: boolean): void {
    const resolve = this.resolveReady;
    if (!resolve) return;
    this.resolveReady = undefined;
    resolve(ok);
    // A settled promise every connection shares: the socket's own goes once its waiters ran.
    this.ready = ok ? READY : NOT_READY;
  }

  beforePing(): Promise<boolean> {
    return this.shared.beforePing(this);
  }

  /** Resolves when the socket has closed (made when asked: only a shutdown waits for it). */
  gone(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.ws.once("close", () => resolve()));
  }

  /** This socket's warn lines about repeated failures (at most one a minute); made at the first. */
  private warnLimit: WarnLimit | undefined;

  get warns(): WarnLimit {
    return (this.warnLimit ??= new WarnLimit(this.shared.log, this.shared.clock));
  }

  /** Commands the hub asked this agent to stop because they are no longer running on the server. */
  private stopped: Set<string> | undefined;

  /** True the first time it is called for `commandId` on this connection (then ask to stop it). */
  stopAsked(commandId: string): boolean {
    const stopped = (this.stopped ??= new Set());
    if (stopped.has(commandId)) return false;
    // Bounded: a connection that sends output for thousands of ended commands is asked again.
    if (stopped.size >= 1024) stopped.clear();
    stopped.add(commandId);
    return true;
  }

  /** Output frames received in this read, not yet written (CommandRelay batches them); made at the first. */
  private batch: Array<OutputFrame["payload"]> | undefined;

  get outputBatch(): Array<OutputFrame["payload"]> {
    return (this.batch ??= []);
  }

  set outputBatch(batch: Array<OutputFrame["payload"]>) {
    this.batch = batch.length === 0 ? undefined : batch;
  }

  /** Writes of this connection's frames still in flight (made on the first). */
  private inflight: Set<Promise<unknown>> | undefined;
  /** A write failed since the last check: the frames may be lost, so no ping may confirm them. */
  private writeFailed = false;

  /**
   * Track a write made for one of this connection's frames. Backpressure: while too many writes
   * are in flight the hub stops reading this socket, so a fast agent is slowed to the store's
   * pace (its unsent output waits on its side, bounded there) instead of queueing in the hub.
   */
  track<T>(write: Promise<T>): Promise<T> {
    const inflight = (this.inflight ??= new Set());
    inflight.add(write);
    if (inflight.size === PAUSE_AT) this.ws.pause();
    const done = () => {
      inflight.delete(write);
      if (inflight.size === RESUME_AT) this.ws.resume();
      // Let go of the set once empty: a fleet that heartbeats now and then holds none between.
      if (inflight.size === 0 && this.inflight === inflight) this.inflight = undefined;
    };
    write.then(done, () => {
      done();
      this.writeFailed = true;
    });
    return write;
  }

  /**
   * Resolves once every write tracked so far has settled: true if all succeeded. On false the
   * caller closes the socket so the agent resends what it has not seen confirmed.
   */
  async settled(): Promise<boolean> {
    while (this.inflight && this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    return !this.writeFailed;
  }

  send(frame: { type: string; payload: unknown }): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(frame));
    this.shared.onSend(frame.type);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
  }
}
