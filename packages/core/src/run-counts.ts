import { CommandStatusSchema, FINAL_COMMAND_STATUSES, type CommandStatus, type Run } from "@tether/protocol";
import type { Op } from "./event-log";
import type { Keys } from "./keys";
import type { RunState } from "./run-plan";

/**
 * Final statuses that count as a failure for `stop_on_failure`: the command ran (or was refused by
 * its agent) and did not succeed. `cancelled` and `expired` never ran, so they stop nothing.
 */
export const RUN_FAILURE_STATUSES: ReadonlySet<CommandStatus> = new Set(["failed", "timed_out", "rejected", "lost"]);

/**
 * The writes that keep a run's counts in step with one command's status change, applied in the
 * same atomic step as the change itself (so a count is bumped exactly once per transition,
 * whichever process makes it and whenever it dies). `released` is false for a command the run
 * still holds back (max_parallel), which occupies no slot of the window.
 */
export function runTransitionOps(keys: Keys, runId: string, from: CommandStatus, to: CommandStatus, released: boolean): Op[] {
  const counts = keys.runCounts(runId);
  const ops: Op[] = [
    { cmd: "HINCRBY", key: counts, args: [from, -1] },
    { cmd: "HINCRBY", key: counts, args: [to, 1] },
    { cmd: "HINCRBY", key: counts, args: ["changes", 1] },
    // Marked before anyone acts on it: the sweep steps a dirty run whose stepper died.
    { cmd: "SADD", key: keys.runsDirty, args: [runId] },
  ];
  if (FINAL_COMMAND_STATUSES.has(to) && !FINAL_COMMAND_STATUSES.has(from)) {
    if (released) ops.push({ cmd: "HINCRBY", key: counts, args: ["active", -1] });
    if (RUN_FAILURE_STATUSES.has(to)) ops.push({ cmd: "HINCRBY", key: counts, args: ["failures", 1] });
  }
  return ops;
}

/**
 * The audience of a run's bookkeeping events (`run_released`, `run_cancelled`): no team id can
 * be it (team ids start with a letter or digit) and, as `except` too, no socket that sees every
 * team takes it either. They are in the log for the fold (`npm run rebuild`), never in a browser.
 */
export const RUN_BOOKKEEPING_AUDIENCE = "~run";

/** Every command status with 0: the counts of a new run. */
export const zeroCounts = (): Record<CommandStatus, number> =>
  Object.fromEntries(CommandStatusSchema.options.map((s) => [s, 0])) as Record<CommandStatus, number>;

/** The run as clients see it: the recorded run with the live counts and status. */
export function runView(base: Run, s: RunState): Run {
  return { ...base, counts: { ...s.counts }, status: s.status, ...(s.cancelled ? { cancel_requested: true } : {}) };
}

/** `items` in slices of `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
