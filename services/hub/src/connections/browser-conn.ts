import type { WebSocket } from "ws";
import { CloseCode } from "@tether/protocol";
import { audienceKey, audienceOf, type Audience, type Principal } from "@tether/core";

/** The socket under a `ws` connection (a private field; written to directly by {@link BrowserConn.offer}). */
type RawSocket = { write(data: Buffer): boolean; cork(): void; uncork(): void };
const rawSocket = (ws: WebSocket): RawSocket | undefined => (ws as unknown as { _socket?: RawSocket })._socket;

/**
 * A whole unmasked WebSocket text frame (RFC 6455 §5.2) carrying `text`: built once per event
 * and written as is to every browser that gets it, instead of framed again for each one.
 */
export function wireFrame(text: Buffer): Buffer {
  const n = text.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x81; // FIN, opcode 1 (text)
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  text.copy(out, head);
  return out;
}

/** A live event for browsers: its id, its JSON, and the same as a ready WebSocket frame. */
export interface WireEvent {
  id: string;
  frame: Buffer;
  wire: Buffer;
}

/**
 * One browser socket. While it syncs (snapshot or replay), live frames wait in `pending`; once
 * live, a frame is sent only if its id is newer than the last one sent, so a frame that arrives
 * both by replay and live goes out once.
 */
export class BrowserConn {
  state: "syncing" | "live" = "syncing";
  /** Id of the newest event this browser has been sent (ids sort as strings within an epoch). */
  lastSentId = "";
  private pending: Array<{ id: string; data: Buffer }> = [];
  closed = false;
  /** What this socket may see (CONTRACT §4), fixed for its life: a change of rights closes it. */
  readonly audience: Audience;
  /** Sockets with the same key share a fan-out group. */
  readonly audienceKey: string;

  constructor(
    readonly ws: WebSocket,
    readonly sid: string,
    /** Who opened it, with the rights it had then. */
    readonly principal: Principal,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: () => void,
  ) {
    this.audience = audienceOf(principal);
    this.audienceKey = audienceKey(this.audience);
  }

  get userId(): string {
    return this.principal.userId;
  }

  /**
   * Live events from the relay (one published message: usually one frame, a run of output at
   * most). They go to the socket as the prebuilt frames: the server side never masks and this
   * hub never compresses, so `ws` would write exactly these bytes, and whatever `ws` sends on this
   * socket (snapshot, replay, errors) is written at once too, so the order on the wire holds.
   */
  offer(frames: readonly WireEvent[]): void {
    if (this.state === "syncing") {
      for (const f of frames) this.pending.push({ id: f.id, data: f.frame });
      return;
    }
    const socket = rawSocket(this.ws);
    if (!socket) return;
    // Several frames at once: one write (writev) for all of them instead of one each.
    if (frames.length > 1) socket.cork();
    for (const f of frames) {
      if (f.id <= this.lastSentId || !this.writable()) continue;
      this.lastSentId = f.id;
      socket.write(f.wire);
    }
    if (frames.length > 1) socket.uncork();
  }

  /** Send one event frame unless it was already sent. */
  sendEvent(id: string, data: Buffer | string): void {
    if (id <= this.lastSentId) return;
    this.lastSentId = id;
    this.sendRaw(data);
  }

  /** Go live: flush what arrived during the sync, skipping what the sync already sent. */
  goLive(): void {
    const pending = this.pending;
    this.pending = [];
    this.state = "live";
    for (const p of pending) this.sendEvent(p.id, p.data);
  }

  sendRaw(data: Buffer | string): void {
    if (this.writable()) this.ws.send(data, { binary: false });
  }

  /** Open, and not past the buffer bound: a browser over it is cut off here. */
  private writable(): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    // Backpressure: a browser that cannot keep up is cut off (it resumes with ?after=), never
    // allowed to grow this hub's memory without bound.
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.onSlow();
      this.close(CloseCode.TRY_AGAIN_LATER, "slow consumer");
      this.ws.terminate();
      return false;
    }
    return true;
  }

  /**
   * Sync path (snapshot, replay): send one frame, and when the socket's buffer is past half the
   * bound, resolve only once this frame has been handed to the OS. A long replay is thus paced
   * by the reader instead of tripping the slow-consumer cut.
   */
  sendPaced(id: string | null, data: Buffer | string): Promise<void> {
    if (id !== null) {
      if (id <= this.lastSentId) return Promise.resolve();
      this.lastSentId = id;
    }
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    if (this.ws.bufferedAmount <= this.maxBufferedBytes / 2) {
      this.ws.send(data, { binary: false });
      return Promise.resolve();
    }
    return new Promise((resolve) => this.ws.send(data, { binary: false }, () => resolve()));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.ws.close(code, reason);
  }
}
