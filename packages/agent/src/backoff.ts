/** Reconnect delays: exponential backoff with full jitter, so a hub restart is not a storm. */
export interface Backoff {
  /** The delay before the next attempt, in ms; each call doubles the ceiling up to the cap. */
  next(): number;
  /** Back to the first, shortest ceiling (after a connection that proved healthy). */
  reset(): void;
  /** Attempts since the last reset. */
  readonly attempt: number;
}

export interface BackoffOptions {
  /** First ceiling, ms. Default 500. */
  baseMs?: number;
  /** Largest ceiling, ms. Default 30 000. */
  capMs?: number;
  /** Uniform in [0, 1). Injected for tests. */
  random?: () => number;
}

/**
 * "Full jitter" (delay = random(0, min(cap, base·2^attempt))): spreads a fleet's reconnects
 * over the whole window instead of synchronising them on the same instants.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const random = options.random ?? Math.random;
  let attempt = 0;
  return {
    next() {
      // Clamp the exponent so 2 ** attempt never overflows into Infinity after days offline.
      const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
      attempt += 1;
      return Math.floor(random() * ceiling);
    },
    reset() {
      attempt = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
