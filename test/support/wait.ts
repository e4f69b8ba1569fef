/**
 * Awaiting with a deadline. Everything in the test harness waits for an event (a line, a frame,
 * an exit, a 200) and fails with a message that says what happened instead; nothing sleeps.
 */

/** Thrown when an awaited condition did not happen in time. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/**
 * Resolves like `promise`, or rejects with a {@link TimeoutError} after `ms`. `describe` is called
 * only on timeout, so it can report the state at that moment (frames received, output tail, …).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms: ${describe()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A timer-driven wait for polling an awaited condition (an HTTP readiness endpoint). Not a sleep for "long enough". */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Last `n` items of a list, joined, for error messages. */
export function tail(lines: readonly string[], n = 40): string {
  const shown = lines.slice(-n);
  const skipped = lines.length - shown.length;
  return (skipped > 0 ? `… (${skipped} earlier lines)\n` : "") + shown.join("\n");
}
