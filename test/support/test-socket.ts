/**
 * A WebSocket wrapped for tests: an ordered frame queue whose `next()` awaits frames with a
 * deadline, fails fast on close, and on timeout says what arrived instead.
 */
import WebSocket from "ws";
import { TimeoutError, withTimeout } from "./wait";

/** How a socket closed. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * A frame as received: JSON with a `type`. The payload is deliberately loose: tests inspect
 * frames in predicates and `expect`s (including malformed ones they provoked), and the hub's
 * own schemas are what the test checks, not what the harness assumes.
 */
export interface Frame {
  type: string;
  id?: string;
  ts?: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  payload: any;
  /** `Date.now()` when it arrived (non-enumerable: `toEqual` and JSON ignore it). */
  readonly receivedAt: number;
}

/** A received frame typed as the protocol's `T`. */
export type Received<T> = T & { readonly receivedAt: number };

/** Default wait of {@link TestSocket.next} and connects, ms. */
export const DEFAULT_FRAME_TIMEOUT_MS = 5000;

/** The protocol frames of `Known` whose type is `K`, as received. */
export type FrameOfType<Known extends { type: string; payload: unknown }, K extends string> = Received<Extract<Known, { type: K }>>;

interface Waiter {
  test: (frame: Frame) => boolean;
  what: string;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
}

/**
 * A WebSocket with an ordered frame queue. `next()` takes the first queued frame that matches
 * (others stay queued, in order) or waits for one; it fails fast when the socket closes and,
 * on timeout, lists what arrived instead. `Known` is the protocol union the server sends
 * (`HubToBrowser`, `HubToAgent`), used to type `next("<type>")`.
 */
export class TestSocket<Known extends { type: string; payload: unknown } = never> {
  /** Every JSON frame received, in order (consumed or not). */
  readonly frames: Frame[] = [];
  /** Text messages that were not JSON (a protocol violation by the server). */
  readonly nonJson: string[] = [];
  /** Resolves when the socket has closed, with the code and reason. */
  readonly closed: Promise<CloseInfo>;
  /** Set once closed. */
  closeInfo: CloseInfo | undefined;
  /** Resolves at the first JSON frame or at the close, whichever comes first (consumes nothing). */
  readonly settled: Promise<void>;
  private settle: () => void = () => undefined;
  private readonly queue: Frame[] = [];
  private readonly waiters: Waiter[] = [];

  constructor(
    /** The underlying `ws` socket, for what the wrapper does not cover (ping, bufferedAmount, raw sends, …). */
    readonly ws: WebSocket,
    private readonly label: string,
  ) {
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("error", () => undefined); // reported through 'close' and the connect promise
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString("utf8") };
        this.settle();
        for (const waiter of this.waiters.splice(0)) {
          waiter.reject(
            new Error(`${this.label} closed (${code} ${this.closeInfo.reason}) while waiting for ${waiter.what}; ${this.describe()}`),
          );
        }
        resolve(this.closeInfo);
      });
    });
  }

  /** The next frame of this protocol type, typed. */
  next<K extends Known["type"]>(type: K, timeoutMs?: number): Promise<FrameOfType<Known, K>>;
  /** The next frame of this type that `where` accepts, e.g. `next("host_update", (f) => f.payload.host.status === "online")`. */
  next<K extends Known["type"]>(
    type: K,
    where: (frame: FrameOfType<Known, K>) => boolean,
    timeoutMs?: number,
  ): Promise<FrameOfType<Known, K>>;
  /** The next frame the predicate accepts (e.g. `(f) => f.type === "host_update" && …`), or simply the next frame. */
  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  next(
    match?: string | ((frame: Frame) => boolean),
    whereOrTimeout?: number | ((frame: never) => boolean),
    maybeTimeout?: number,
  ): Promise<Frame> {
    const where = typeof whereOrTimeout === "function" ? (whereOrTimeout as (frame: Frame) => boolean) : undefined;
    const timeoutMs = (typeof whereOrTimeout === "number" ? whereOrTimeout : maybeTimeout) ?? DEFAULT_FRAME_TIMEOUT_MS;
    const test =
      match === undefined
        ? () => true
        : typeof match === "string"
          ? (f: Frame) => f.type === match && (where === undefined || where(f))
          : match;
    const what =
      match === undefined
        ? "any frame"
        : typeof match === "string"
          ? `a "${match}" frame${where ? ` matching ${where.toString().slice(0, 160)}` : ""}`
          : `a frame matching ${match.toString().slice(0, 160)}`;
    const index = this.queue.findIndex(test);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]!);
    if (this.closeInfo) {
      return Promise.reject(
        new Error(`${this.label} is closed (${this.closeInfo.code} ${this.closeInfo.reason}) without ${what}; ${this.describe()}`),
      );
    }
    let waiter: Waiter | undefined;
    const found = new Promise<Frame>((resolve, reject) => {
      waiter = { test, what, resolve, reject };
      this.waiters.push(waiter);
    });
    return withTimeout(found, timeoutMs, () => `${this.label}: waited in vain for ${what}; ${this.describe()}`).catch((err: unknown) => {
      if (err instanceof TimeoutError) this.waiters.splice(this.waiters.indexOf(waiter!), 1);
      throw err;
    });
  }

  /** Frames received but not yet taken by `next()`, in order. */
  pending(): readonly Frame[] {
    return [...this.queue];
  }

  /** Sends a value as JSON (anything: tests also send invalid frames). */
  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends raw text or bytes, as is. */
  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Closes with a close frame and awaits the close. */
  close(code = 1000, reason = ""): Promise<CloseInfo> {
    if (!this.closeInfo) this.ws.close(code, reason);
    return this.waitClosed();
  }

  /** Drops the TCP connection without a close frame (a crashed peer) and awaits the close. */
  terminate(): Promise<CloseInfo> {
    this.ws.terminate();
    return this.waitClosed();
  }

  /** Awaits the close (e.g. the server closing with 1008/4001/4401), failing after `timeoutMs`. */
  waitClosed(timeoutMs = DEFAULT_FRAME_TIMEOUT_MS): Promise<CloseInfo> {
    return withTimeout(this.closed, timeoutMs, () => `${this.label} did not close; ${this.describe()}`);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString("utf8");
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
      Object.defineProperty(frame, "receivedAt", { value: Date.now(), enumerable: false });
    } catch {
      this.nonJson.push(text);
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`${this.label} received a non-JSON ${isBinary ? "binary" : "text"} message: ${text.slice(0, 200)}`));
      }
      return;
    }
    this.frames.push(frame);
    this.settle();
    const index = this.waiters.findIndex((w) => w.test(frame));
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(frame);
    else this.queue.push(frame);
  }

  private describe(): string {
    const shown = this.queue.slice(-20).map((f) => JSON.stringify(f).slice(0, 240));
    const skipped = this.queue.length - shown.length;
    const state = this.closeInfo ? `closed ${this.closeInfo.code}` : ["connecting", "open", "closing", "closed"][this.ws.readyState];
    return `socket ${state}; ${this.frames.length} frames received, ${this.queue.length} unconsumed${
      shown.length ? `:\n  ${skipped > 0 ? `… ${skipped} earlier\n  ` : ""}${shown.join("\n  ")}` : ""
    }`;
  }
}
