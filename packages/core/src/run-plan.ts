import { CommandStatusSchema, FINAL_COMMAND_STATUSES, type CommandStatus, type RunStatus } from "@tether/protocol";

/** `run_update` events of one run are at least this far apart, but for the last one (CONTRACT §6). */
export const RUN_UPDATE_INTERVAL_MS = 100;

/** A run's control state and counts, read at one moment. */
export interface RunState {
  status: RunStatus;
  total: number;
  /** Index of the next command to release (commands before it were released to their hosts). */
  next: number;
  maxParallel: number | undefined;
  stopOnFailure: boolean;
  cancelled: boolean;
  /** Queued commands were cancelled after a stop (so that is not done again on every step). */
  heldCancelled: boolean;
  /** `changes` as of the last `run_update` (-1: none yet). */
  reported: number;
  lastUpdateAt: number;
  counts: Record<CommandStatus, number>;
  /** Released and not final: the commands occupying the max_parallel window. */
  active: number;
  failures: number;
  /** Bumped by every count change. */
  changes: number;
  /**
   * With more than one partition: the count shards read, one per partition holding the run's
   * commands (and its home), each with its own `changes` (what a guarded clean compares).
   * Counts, `active`, `failures` and `changes` above are their sums.
   */
  shards?: Array<{ partition: number; changes: number }>;
  /**
   * With more than one partition: a range of commands [from, to) the home step reserved (moved
   * `next` past) whose un-hold steps, one per partition, may not all have run yet. It is completed
   * before anything else is decided, so the window never counts a command twice or not at all.
   */
  reserved?: { from: number; to: number } | null;
}

/** What one step does; the stepper applies it under guards and steps again. */
export interface RunPlan {
  /** How many commands to release now (from `next`). */
  release: number;
  /** Cancel the run's queued commands (it was stopped or cancelled). */
  cancelQueued: boolean;
  /** Append a `run_update`; `final` also ends the run. */
  report: { final: boolean } | null;
  /** A report is due but too soon after the last: step again after this many ms. */
  deferMs: number | null;
}

export const finalCount = (counts: Record<CommandStatus, number>): number =>
  CommandStatusSchema.options.reduce((n, s) => (FINAL_COMMAND_STATUSES.has(s) ? n + (counts[s] ?? 0) : n), 0);

export const isStopped = (s: RunState): boolean => s.cancelled || (s.stopOnFailure && s.failures > 0);

/**
 * The decision taken each time something about a run changed (pure). The window is a rolling one:
 * it refills as soon as a released command is final. A stopped run releases nothing more and
 * cancels what has not started.
 */
export function planRunStep(s: RunState, now: number): RunPlan {
  const idle: RunPlan = { release: 0, cancelQueued: false, report: null, deferMs: null };
  if (s.status !== "running") return idle;
  const done = finalCount(s.counts) >= s.total;
  const stopped = isStopped(s);
  const room = s.maxParallel === undefined ? Infinity : Math.max(0, s.maxParallel - s.active);
  const release = stopped || done ? 0 : Math.min(room, s.total - s.next);
  const cancelQueued = stopped && !s.heldCancelled && !done;
  if (done) return { ...idle, report: { final: true } };
  if (release > 0 || cancelQueued) return { ...idle, release, cancelQueued };
  if (s.changes === s.reported) return idle;
  const wait = s.lastUpdateAt + RUN_UPDATE_INTERVAL_MS - now;
  return wait <= 0 ? { ...idle, report: { final: false } } : { ...idle, deferMs: wait };
}
