import type { Clock } from "@tether/core";

/**
 * Token bucket per connection: `perSecond` frames sustained, bursts up to `burst`. A client over
 * it is closed (1008, "rate limit exceeded"): a flood costs the hub one comparison per frame.
 */
export class FrameRateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Take one frame's token; false when the bucket is empty. */
  take(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
