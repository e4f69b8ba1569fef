import type { WebSocket } from "ws";
import { CloseCode } from "@tether/protocol";
import { audienceKey, audienceOf, cursorId, withId, type Audience, type Principal } from "@tether/core";

/** The socket under a `ws` connection (a private field; written to directly by {@link BrowserConn.offer}). */
type RawSocket = { write(data: Buffer): boolean; cork(): void; uncork(): void };
const rawSocket = (ws: WebSocket): RawSocket | undefined => (ws as unknown as { _socket?: RawSocket })._socket;

/**
 * Sockets written to in this turn of the event loop, corked until it ends. One read of the
 * subscription often holds several published messages (a busy fleet: many hosts' heartbeats);
 * each is relayed as it is parsed, and a socket that gets frames from several of them then goes
 * to the kernel once (one writev), not once per message: fewer system calls here and fewer
 * wake-ups for the browser. The flush is a microtask, so it runs as soon as the read that
 * produced the frames is handled: nothing waits for a timer or a later read.
 */
const corked = new Set<RawSocket>();
let flushQueued = false;

function flushCorked(): void {
  flushQueued = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function corkForThisTurn(socket: RawSocket): void {
  if (corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushCorked);
  }
}

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

/** A live event for browsers: where it is in the log, its JSON as framed by this hub, and the same as a ready WebSocket frame. */
export interface WireEvent {
  /** Its partition. */
  p: number;
  /** Its place in the partition (see log-reader.ts: heads of one partition sort as strings). */
  head: string;
  frame: Buffer;
  wire: Buffer;
  /**
   * With more than one partition: the relay's heads just after this event and the epochs, which
   * its id stands for. A socket that synced further than the relay has got frames re-identified
   * from them until the relay catches up (see {@link BrowserConn.offer}).
   */
  heads?: readonly string[];
  epochs?: readonly string[];
}

/**
 * One browser socket. While it syncs (snapshot or replay), live frames wait in `pending`; once
 * live, a frame is sent only if it is past what the socket was sent of its partition, so a frame
 * that arrives both by replay and live goes out once.
 */
export class BrowserConn {
  state: "syncing" | "live" = "syncing";
  /**
   * Per partition, the head of the newest event this browser has been sent or has passed (its
   * snapshot's, its replay's): '' = none. Set by the sync.
   */
  sent: string[] = [];
  /**
   * Synced past the relay in some partition (its replay read the log further than the live
   * events had reached the hub): its frames carry its own position until the relay catches up.
   */
  private ahead = false;
  private pending: WireEvent[] = [];
  closed = false;
  /** Until when its session is known to be alive (ms); see SessionWatch. */
  sessionFreshUntil = 0;
  /** A session check in flight, which frames arriving meanwhile wait for (in order). */
  sessionCheck: Promise<boolean> | undefined;
  /** What this socket may see (CONTRACT §4), fixed for its life: a change of rights closes it. */
  readonly audience: Audience;
  /** Sockets with the same key share a fan-out group. */
  readonly audienceKey: string;

  constructor(
    readonly ws: WebSocket,
    readonly sid: string,
    /** Its member in the session's socket count (SessionWatch). */
    readonly claim: string,
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

  /** The head of the newest event of partition p sent to (or passed by) this socket ('' = none). */
  sentOf(p: number): string {
    return this.sent[p] ?? "";
  }

  /**
   * Live events from the relay (one published message: usually one frame, a run of output at
   * most). They go to the socket as the prebuilt frames: the server side never masks and this
   * hub never compresses, so `ws` would write exactly these bytes, and whatever `ws` sends on this
   * socket (snapshot, replay, errors) is written at once too, so the order on the wire holds.
   */
  offer(frames: readonly WireEvent[]): void {
    if (this.state === "syncing") {
      for (const f of frames) this.pending.push(f);
      return;
    }
    const socket = rawSocket(this.ws);
    if (!socket) return;
    for (const f of frames) {
      if (f.head <= this.sentOf(f.p) || !this.writable()) continue;
      this.sent[f.p] = f.head;
      corkForThisTurn(socket);
      socket.write(this.ahead ? this.ownWire(f) : f.wire);
    }
  }

  /**
   * The frame as this socket must get it while it may be ahead of the relay: the relay's id
   * would claim a position behind what the socket has (a resume would repeat events), so the id
   * is rebuilt from the further of the two in each partition. Once the relay is nowhere behind,
   * the shared frames are right again, for good.
   */
  private ownWire(f: WireEvent): Buffer {
    const heads = f.heads;
    if (!heads || !f.epochs) {
      this.ahead = false;
      return f.wire;
    }
    let behind = false;
    const own = heads.map((h, q) => {
      const mine = this.sentOf(q);
      if (mine > h) behind = true;
      return mine > h ? mine : h;
    });
    if (!behind) {
      this.ahead = false;
      return f.wire;
    }
    return wireFrame(Buffer.from(withId(f.frame.toString(), cursorId(f.p, own, f.epochs))));
  }

  /** Go live: flush what arrived during the sync, skipping what the sync already sent. */
  goLive(): void {
    const pending = this.pending;
    this.pending = [];
    this.state = "live";
    // Only with partitions can the sync have read past the relay (one partition: ids are positions).
    this.ahead = this.sent.length > 1;
    if (pending.length) this.offer(pending);
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
  sendPaced(data: Buffer | string): Promise<void> {
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
