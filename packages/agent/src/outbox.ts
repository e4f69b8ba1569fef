import type { AgentToHub, OutputStream } from "@tether/protocol";
import type { FinishedPayload } from "./state-file";

/** Per-entry bookkeeping counted against the budget, so a flood of tiny lines is bounded too. */
const ENTRY_OVERHEAD = 64;

type OutputEntry = {
  kind: "output";
  commandId: string;
  stream: OutputStream;
  data: string;
  /** Bytes of JSON.stringify(data), quotes included: what merging must keep under the frame budget. */
  encoded: number;
  bytes: number;
  seq?: number;
  /** Set on a marker: how many bytes it stands for. */
  dropped?: number;
  serial?: number;
};
type FinalEntry = { kind: "final"; payload: FinishedPayload; bytes: number; serial?: number };
type Entry = OutputEntry | FinalEntry;

export interface OutboxOptions {
  /** Total budget in bytes (unsent plus sent-but-unconfirmed). */
  limitBytes: number;
  /** Largest JSON.stringify(data) an `output` frame of this command may carry (see splitForFrames). */
  dataBudget: (commandId: string, stream: OutputStream) => number;
}

/** Text of the marker that replaces dropped output; the seq stays contiguous because seq is assigned at send time. */
export const droppedMarker = (bytes: number) => `[tether-agent: ${bytes} bytes of output dropped while the hub was unreachable]\n`;

/**
 * The ordered queue of `output` and `command_finished` frames.
 *
 * - seq is assigned when a frame is first sent, never earlier, so dropping unsent output
 *   (oldest first, replaced by one marker per command) can never leave a gap.
 * - Sent frames stay until confirmed, and {@link rewind} puts them back, same seq, after a
 *   reconnect; the hub drops the seqs it already has. Confirmation: the hub pings only after
 *   the previous pong arrived (its isAlive sweep), and our pong follows our earlier frames on
 *   the same TCP stream; so when a ping arrives, everything sent before the previous ping has
 *   reached the hub.
 * - A command's `command_finished` is queued after its last output, so it is sent after it.
 */
export class Outbox {
  private entries: Entry[] = [];
  /** entries[0, sent) are sent and unconfirmed; the rest are unsent. */
  private sent = 0;
  private serial = 0;
  private pingMark = -1;
  private seqs = new Map<string, number>();
  private markers = new Map<string, OutputEntry>();
  private total = 0;
  private unsent = 0;
  /** Commands whose output the hub no longer stores (`output_truncated`): none of it is sent. */
  private cut = new Set<string>();
  /** Output bytes dropped since start, for logs and tests. */
  droppedBytes = 0;

  constructor(private readonly options: OutboxOptions) {}

  get unsentBytes(): number {
    return this.unsent;
  }
  get totalBytes(): number {
    return this.total;
  }
  get hasUnsent(): boolean {
    return this.sent < this.entries.length;
  }
  /** Unsent frames that went out before (on a lost connection): after a rewind, what will be sent again. */
  get resendCount(): number {
    let n = 0;
    for (let i = this.sent; i < this.entries.length; i++) if (this.entries[i]!.serial !== undefined) n += 1;
    return n;
  }

  /**
   * The hub stores no more of this command's output: drop what of it waits unsent and whatever
   * comes later. Its `command_finished` is still sent.
   */
  stopOutput(commandId: string): void {
    this.cut.add(commandId);
    this.markers.delete(commandId);
    const kept: Entry[] = [];
    this.entries.forEach((e, i) => {
      if (i >= this.sent && e.kind === "output" && e.commandId === commandId) {
        this.total -= e.bytes;
        this.unsent -= e.bytes;
      } else kept.push(e);
    });
    this.entries = kept;
  }

  pushOutput(commandId: string, stream: OutputStream, data: string): void {
    if (this.cut.has(commandId)) return;
    const encoded = Buffer.byteLength(JSON.stringify(data));
    const last = this.entries[this.entries.length - 1];
    // Merge into the last unsent piece when the sum still fits a frame: a backlog (while
    // disconnected, or a slow hub) then costs few entries and few frames. The sum of the two
    // encodings is an upper bound of the merged one (a re-joined surrogate pair only shrinks).
    if (
      last?.kind === "output" &&
      this.sent < this.entries.length &&
      last.seq === undefined &&
      last.dropped === undefined &&
      last.commandId === commandId &&
      last.stream === stream &&
      last.encoded + encoded - 2 <= this.options.dataBudget(commandId, stream)
    ) {
      const added = Buffer.byteLength(data);
      last.data += data;
      last.encoded += encoded - 2;
      last.bytes += added;
      this.total += added;
      this.unsent += added;
    } else {
      this.append({ kind: "output", commandId, stream, data, encoded, bytes: Buffer.byteLength(data) + ENTRY_OVERHEAD });
    }
    this.enforceLimit();
  }

  pushFinal(payload: FinishedPayload): void {
    this.append({ kind: "final", payload, bytes: ENTRY_OVERHEAD + 256 });
    this.enforceLimit();
  }

  /** Whether a `command_finished` for this command still waits to be sent. */
  holdsUnsentFinal(commandId: string): boolean {
    return this.entries.some((e, i) => i >= this.sent && e.kind === "final" && e.payload.command_id === commandId);
  }

  /** The next frame to send, now marked sent (with its seq fixed); undefined when none. */
  nextFrame(): AgentToHub | undefined {
    const entry = this.entries[this.sent];
    if (!entry) return undefined;
    this.sent += 1;
    this.unsent -= entry.bytes;
    entry.serial = ++this.serial;
    if (entry.kind === "final") return { type: "command_finished", payload: entry.payload };
    if (entry.seq === undefined) {
      entry.seq = this.seqs.get(entry.commandId) ?? 0;
      this.seqs.set(entry.commandId, entry.seq + 1);
    }
    if (this.markers.get(entry.commandId) === entry) this.markers.delete(entry.commandId);
    return { type: "output", payload: { command_id: entry.commandId, seq: entry.seq, stream: entry.stream, data: entry.data } };
  }

  /** The connection is gone: every unconfirmed frame will be sent again, in order, same seq. */
  rewind(): void {
    this.sent = 0;
    this.unsent = this.total;
    this.pingMark = -1;
  }

  /** A ping from the hub arrived (see the class comment for why this confirms delivery). */
  onPing(): void {
    const confirmed = this.pingMark;
    while (this.sent > 0 && this.entries[0]!.serial! <= confirmed) this.removeFirst();
    this.pingMark = this.serial;
  }

  private append(entry: Entry): void {
    this.entries.push(entry);
    this.total += entry.bytes;
    this.unsent += entry.bytes;
  }

  private removeFirst(): void {
    const entry = this.entries.shift()!;
    this.sent -= 1;
    this.total -= entry.bytes;
    // After its final frame nothing more of this command is sent: forget its seq counter.
    if (entry.kind === "final") {
      this.seqs.delete(entry.payload.command_id);
      this.cut.delete(entry.payload.command_id);
    }
  }

  private enforceLimit(): void {
    while (this.total > this.options.limitBytes) {
      // Sent frames go first: almost surely delivered (TCP), only kept for a rare resend.
      if (this.sent > 0) {
        this.removeFirst();
        continue;
      }
      const index = this.entries.findIndex((e) => e.kind === "output" && e.dropped === undefined);
      if (index === -1) return; // only finals and markers left: small, and never dropped
      const victim = this.entries[index] as OutputEntry;
      const lost = Buffer.byteLength(victim.data);
      this.droppedBytes += lost;
      const marker = this.markers.get(victim.commandId);
      if (marker) {
        this.entries.splice(index, 1);
        this.total -= victim.bytes;
        this.unsent -= victim.bytes;
        this.setMarker(marker, marker.dropped! + lost);
      } else {
        // Turn the oldest dropped piece itself into the marker: it keeps that piece's place.
        victim.stream = "stderr";
        this.setMarker(victim, lost);
        this.markers.set(victim.commandId, victim);
      }
    }
  }

  private setMarker(entry: OutputEntry, dropped: number): void {
    const before = entry.bytes;
    entry.dropped = dropped;
    entry.data = droppedMarker(dropped);
    entry.encoded = Buffer.byteLength(JSON.stringify(entry.data));
    entry.bytes = Buffer.byteLength(entry.data) + ENTRY_OVERHEAD;
    this.total += entry.bytes - before;
    this.unsent += entry.bytes - before;
  }
}
