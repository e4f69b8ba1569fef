import type { Clock } from "@tether/core";

/** One socket's bucket: tokens left, and when it was last filled (ms). */
export interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Token bucket rules for one kind of socket, shared by all of them: `perSecond` frames
 * sustained, bursts up to `burst`. A client over it is closed (1008, "rate limit exceeded"): a
 * flood costs the hub one comparison per frame. Each socket keeps only its {@link Bucket}.
 */
export class FrameRate {
  constructor(
    private readonly perSecond: number,
    readonly burst: number,
    private readonly clock: Clock,
  ) {}

  /** A full bucket, as of now. */
  full(): Bucket {
    return { tokens: this.burst, last: this.clock.now() };
  }

  /** Take one frame's token from `bucket`; false when it is empty. */
  take(bucket: Bucket): boolean {
    const now = this.clock.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.last) * this.perSecond) / 1000);
    bucket.last = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** Token bucket per connection ({@link FrameRate} with its own bucket). */
export class FrameRateLimit {
  private readonly rate: FrameRate;
  private readonly bucket: Bucket;

  constructor(perSecond: number, burst: number, clock: Clock) {
    this.rate = new FrameRate(perSecond, burst, clock);
    this.bucket = this.rate.full();
  }

  /** Take one frame's token; false when the bucket is empty. */
  take(): boolean {
    return this.rate.take(this.bucket);
  }
}
