/**
 * One clock for every bench process: wall-clock milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`). Generators and relays run on the same machine,
 * so a send time taken in one process and a receive time taken in another are comparable.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A timer-driven wait (pacing, polling); never used to wait for "long enough". */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `done` every `everyMs` until it returns true or `timeoutMs` passes; resolves with the
 * last answer, so the caller reports what was still missing instead of throwing.
 */
export async function pollUntil(done: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await delay(everyMs);
  }
}
