/**
 * A mergeable latency histogram: 10 µs buckets up to 100 ms, then 1 ms buckets up to 120 s
 * (larger values land in the last bucket). Generators record into one and send it to the
 * coordinator, which merges them; percentiles are exact to the bucket width.
 */
const FINE_US = 10;
const FINE_BUCKETS = 10_000; // 0 .. 100 ms
const COARSE_BUCKETS = 120_000; // 100 ms .. 120 s, 1 ms each

/** What crosses the IPC channel: non-empty buckets as [index, count] pairs. */
export interface HistogramData {
  buckets: Array<[number, number]>;
  count: number;
  sumMs: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  sumMs = 0;
  maxMs = 0;

  /** Records one latency in ms (negative values, from clock jitter between processes, count as 0). */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const index =
      v < (FINE_BUCKETS * FINE_US) / 1000
        ? Math.floor((v * 1000) / FINE_US)
        : FINE_BUCKETS + Math.min(COARSE_BUCKETS - 1, Math.floor(v - 100));
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.count += 1;
    this.sumMs += v;
    if (v > this.maxMs) this.maxMs = v;
  }

  merge(data: HistogramData): this {
    for (const [index, n] of data.buckets) this.counts.set(index, (this.counts.get(index) ?? 0) + n);
    this.count += data.count;
    this.sumMs += data.sumMs;
    this.maxMs = Math.max(this.maxMs, data.maxMs);
    return this;
  }

  /** The value at quantile `q` (0..1), as the upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index)!;
      if (seen >= rank) return Math.min(this.maxMs, upperEdge(index));
    }
    return this.maxMs;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sumMs / this.count;
  }

  toJSON(): HistogramData {
    return { buckets: [...this.counts.entries()], count: this.count, sumMs: this.sumMs, maxMs: this.maxMs };
  }

  static from(...parts: HistogramData[]): Histogram {
    const h = new Histogram();
    for (const p of parts) h.merge(p);
    return h;
  }
}

function upperEdge(index: number): number {
  return index < FINE_BUCKETS ? ((index + 1) * FINE_US) / 1000 : 100 + (index - FINE_BUCKETS) + 1;
}

/** p50/p99/p99.9/max of a histogram, in ms. */
export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  return { n: h.count, p50: h.quantile(0.5), p99: h.quantile(0.99), p999: h.quantile(0.999), max: h.maxMs };
}
