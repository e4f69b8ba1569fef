import type { WebSocket } from "ws";
import type { OutputFrame } from "@tether/protocol";

/** Connection ids: unique in this process, which every log line names (`node`). */
let lastId = 0;

/** Writes in flight at which the hub stops reading an agent's socket, and resumes. */
const PAUSE_AT = 16;
const RESUME_AT = 4;

/** One agent socket and what the hub knows of it. */
export class AgentConn {
  /** The presence write has started (on `register`, on another first frame, or after a grace). */
  connecting = false;
  /** Connection epoch given by the presence write; 0 until it is done. */
  epoch = 0;
  registered = false;
  closed = false;
  /** Resolves true once this connection holds the host (false: revoked or replaced first). */
  ready: Promise<boolean>;
  markReady!: (ok: boolean) => void;

  /** Connection id, in every log line about this socket. */
  readonly id = (++lastId).toString(36);

  constructor(
    readonly ws: WebSocket,
    readonly hostId: string,
    readonly tokenHash: string,
    private readonly onSend: (type: string) => void = () => undefined,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  /** Resolves when the socket has closed (made when asked: only a shutdown waits for it). */
  gone(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.ws.once("close", () => resolve()));
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

  /** Output frames received in this read, not yet written (CommandRelay batches them). */
  outputBatch: Array<OutputFrame["payload"]> = [];
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
    this.onSend(frame.type);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
  }
}
