/**
 * Delivery checks per receiver and stream: every `seq` once, in order. A receiver keeps one
 * {@link SeqState} per stream (a command's output, a host's heartbeats); the coordinator
 * compares the totals with what the senders sent.
 */
export class SeqState {
  private seen = new Uint8Array(64);
  unique = 0;
  duplicates = 0;
  /** Frames that arrived after a higher seq of the same stream (overtaken). */
  reordered = 0;
  private highest = -1;
  /** Earliest send time (embedded in the frames) and latest receive time: the stream's span. */
  firstSentAt = Number.POSITIVE_INFINITY;
  lastRecvAt = 0;

  add(seq: number, sentAt: number, recvAt: number): void {
    if (seq >= this.seen.length) {
      let size = this.seen.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.seen);
      this.seen = grown;
    }
    if (this.seen[seq]) {
      this.duplicates += 1;
      return;
    }
    this.seen[seq] = 1;
    this.unique += 1;
    if (seq < this.highest) this.reordered += 1;
    else this.highest = seq;
    if (sentAt < this.firstSentAt) this.firstSentAt = sentAt;
    if (recvAt > this.lastRecvAt) this.lastRecvAt = recvAt;
  }
}

/** One receiver's totals over the streams of a group. */
export interface ReceiverTotals {
  unique: number;
  duplicates: number;
  reordered: number;
  /** Frames whose event id did not increase (Tether browsers: every fleet frame carries one). */
  idOrderErrors: number;
  firstSentAt: number;
  lastRecvAt: number;
}

export function totalsOf(states: Iterable<SeqState>, idOrderErrors = 0): ReceiverTotals {
  const t: ReceiverTotals = { unique: 0, duplicates: 0, reordered: 0, idOrderErrors, firstSentAt: Number.POSITIVE_INFINITY, lastRecvAt: 0 };
  for (const s of states) {
    t.unique += s.unique;
    t.duplicates += s.duplicates;
    t.reordered += s.reordered;
    t.firstSentAt = Math.min(t.firstSentAt, s.firstSentAt);
    t.lastRecvAt = Math.max(t.lastRecvAt, s.lastRecvAt);
  }
  return t;
}

/** The verdict on one measured stream group across all its receivers. */
export interface DeliveryCheck {
  receivers: number;
  /** Frames each receiver should have got. */
  expectedEach: number;
  missing: number;
  duplicates: number;
  reordered: number;
  idOrderErrors: number;
}

export function checkDelivery(expectedEach: number, receivers: readonly ReceiverTotals[]): DeliveryCheck {
  const c: DeliveryCheck = { receivers: receivers.length, expectedEach, missing: 0, duplicates: 0, reordered: 0, idOrderErrors: 0 };
  for (const r of receivers) {
    c.missing += Math.max(0, expectedEach - r.unique);
    c.duplicates += r.duplicates;
    c.reordered += r.reordered;
    c.idOrderErrors += r.idOrderErrors;
  }
  return c;
}

export function deliveryOk(c: DeliveryCheck): boolean {
  return c.missing === 0 && c.duplicates === 0 && c.reordered === 0 && c.idOrderErrors === 0;
}

export function describeDelivery(c: DeliveryCheck): string {
  if (deliveryOk(c)) return `ok (${c.receivers}×${c.expectedEach})`;
  return `LOST ${c.missing}, DUP ${c.duplicates}, REORDERED ${c.reordered}, ID-ORDER ${c.idOrderErrors} over ${c.receivers} receivers × ${c.expectedEach}`;
}
