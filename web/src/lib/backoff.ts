/** Reconnect delays, "full jitter" (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)). */
export interface BackoffOptions {
  /** First ceiling, ms. Default 500. */
  baseMs?: number;
  /** Largest ceiling, ms. Default 30 000. */
  capMs?: number;
}

/** Delay before reconnect attempt `attempt` (0-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * A hub that shuts down (1001) asks for an immediate reconnect; a little jitter still spreads
 * its browsers so they do not all land on the next node in the same millisecond.
 */
export function goingAwayDelay(random: () => number, spreadMs = 1000): number {
  return Math.floor(random() * spreadMs);
}
