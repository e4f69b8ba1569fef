import type { Clock, Logger } from "@tether/core";

/** At most one warn line per socket per this long for repeated failures. */
export const WARN_INTERVAL_MS = 60_000;

/**
 * One socket's warn lines about failures that repeat with its frames (a store write failing for
 * every heartbeat of a flood wrote 18,926 lines): the first goes out, later ones within
 * {@link WARN_INTERVAL_MS} are only counted, and the next line that goes out says how many were
 * left out (`suppressed`).
 */
export class WarnLimit {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    if (now - this.lastAt < WARN_INTERVAL_MS) {
      this.suppressed += 1;
      return;
    }
    this.lastAt = now;
    const extra = this.suppressed > 0 ? { suppressed: this.suppressed } : {};
    this.suppressed = 0;
    this.log.warn({ ...fields, ...extra }, message);
  }
}
