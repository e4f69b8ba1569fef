/**
 * At most `max` password hashes (scrypt: ~50 ms of a core and 32 MiB each) computed at once by
 * this process; the next `maxWaiting` logins wait their turn in arrival order, and past that a
 * login is refused at once (the route answers 503 + Retry-After). Without it, a burst of logins
 * (distinct usernames from many addresses, which no rate limit catches) takes every core and
 * gigabytes of memory. The same shape as the hub's HandshakeGate.
 */
export class HashGate {
  private active = 0;
  private peak = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `task` in a slot; resolves with its result, or with `null` when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | null> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxWaiting) return null;
      // The slot is handed over by `release`, so `active` already counts this task.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    this.peak = Math.max(this.peak, this.active);
    try {
      return { value: await task() };
    } finally {
      this.release();
    }
  }

  /** Tasks running now, waiting now, and the most that ever ran at once. */
  get stats(): { active: number; waiting: number; peak: number } {
    return { active: this.active, waiting: this.waiting.length, peak: this.peak };
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
