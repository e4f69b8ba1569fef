import type { WebSocket } from "ws";
import { CloseCode } from "@tether/protocol";

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

  constructor(
    readonly ws: WebSocket,
    readonly sid: string,
    readonly userId: string,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: () => void,
  ) {}

  /** Live events from the relay (one published message: usually one frame, a run of output at most). */
  offer(frames: ReadonlyArray<{ id: string; frame: Buffer }>): void {
    if (this.state === "syncing") {
      for (const f of frames) this.pending.push({ id: f.id, data: f.frame });
      return;
    }
    if (frames.length === 1) {
      this.sendEvent(frames[0]!.id, frames[0]!.frame);
      return;
    }
    // Several frames at once: one write (writev) for all of them instead of one each.
    const socket = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    socket?.cork();
    for (const f of frames) this.sendEvent(f.id, f.frame);
    socket?.uncork();
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
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    // Backpressure: a browser that cannot keep up is cut off (it resumes with ?after=), never
    // allowed to grow this hub's memory without bound.
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.onSlow();
      this.close(CloseCode.TRY_AGAIN_LATER, "slow consumer");
      this.ws.terminate();
      return;
    }
    this.ws.send(data, { binary: false });
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
