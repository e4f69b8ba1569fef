/** p50 / p99 of the event latency a connection saw over the last window. */
export interface LatencySummary {
  /** Events in the window. */
  count: number;
  /** Milliseconds; undefined without events. */
  p50?: number;
  p99?: number;
}

/** How far back the figures look (ms). */
export const LATENCY_WINDOW_MS = 60_000;
/** Most samples kept: past it the oldest go first (a burst of output frames must not grow memory). */
const MAX_SAMPLES = 20_000;
/** A summary is recomputed at most this often (ms), however many frames arrive. */
const RECOMPUTE_MS = 250;

/**
 * The latency one connection sees: for each event, its `ts` (the server's time when it was
 * logged) to the moment the page received it, over the last minute. Includes any difference
 * between the server's clock and this computer's; a negative difference counts as 0.
 * DOM-free; the clock is the caller's.
 */
export class LatencyWindow {
  // Two parallel rings, oldest first from `head`.
  private readonly at = new Float64Array(MAX_SAMPLES);
  private readonly ms = new Float64Array(MAX_SAMPLES);
  private head = 0;
  private size = 0;
  private cached: LatencySummary = { count: 0 };
  private computedAt = -Infinity;
  private changed = false;

  /** Records one event: `ts` from the frame, `now` when it arrived (both ms since the epoch). */
  add(ts: number, now: number): void {
    const slot = (this.head + this.size) % MAX_SAMPLES;
    this.at[slot] = now;
    this.ms[slot] = Math.max(0, now - ts);
    if (this.size < MAX_SAMPLES) this.size++;
    else this.head = (this.head + 1) % MAX_SAMPLES;
    this.changed = true;
  }

  /** p50 / p99 over the events of the last {@link LATENCY_WINDOW_MS} before `now`. */
  summary(now: number): LatencySummary {
    this.expire(now);
    // The first events show at once; later ones at most every RECOMPUTE_MS (a sort each time).
    const recent = now - this.computedAt < RECOMPUTE_MS;
    if (!this.changed || (recent && this.cached.count > 0 && this.size > 0)) return this.cached;
    const values: number[] = [];
    for (let i = 0; i < this.size; i++) values.push(this.ms[(this.head + i) % MAX_SAMPLES] as number);
    values.sort((a, b) => a - b);
    this.cached = values.length === 0 ? { count: 0 } : { count: values.length, p50: rank(values, 0.5), p99: rank(values, 0.99) };
    this.computedAt = now;
    this.changed = false;
    return this.cached;
  }

  private expire(now: number): void {
    while (this.size > 0 && (this.at[this.head] as number) < now - LATENCY_WINDOW_MS) {
      this.head = (this.head + 1) % MAX_SAMPLES;
      this.size--;
      this.changed = true;
    }
  }
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** "3 ms", "1.2 s": the figure next to the Live indicator. */
export function formatLatency(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
