import type { Clock } from "./clock";
import type { Logger } from "./logger";
import { planRunStep } from "./run-plan";
import type { RunStore } from "./run-store";

/** A step loop that keeps finding work gives up after this many steps and leaves the run to the sweep. */
const MAX_STEPS = 10_000;

type StepResult = "again" | "idle";

/**
 * Acts on runs (DESIGN "Runs are event-sourced"): every process that changes a command of a run
 * (the hub that sees it finish, the worker that expires it, the api that cancels it) kicks the
 * run here, and this process takes the decision — release the next commands, stop on failure,
 * report — at once. Steps of one run are serialized within a process; across processes the
 * store's guards make a step that raced another one fail and look again. A process that dies
 * leaves the run in the dirty set, where the worker's sweep kicks it.
 */
export class RunEngine {
  private readonly loops = new Map<string, { again: boolean; done: Promise<void> }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly deps: { store: RunStore; clock: Clock; log?: Logger }) {}

  /** Step the run until there is nothing to do now; resolves then (errors are logged, the run stays dirty). */
  kick(runId: string): Promise<void> {
    const current = this.loops.get(runId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { again: true, done: Promise.resolve() };
    this.loops.set(runId, entry);
    entry.done = (async () => {
      try {
        for (let steps = 0; entry.again && steps < MAX_STEPS && !this.closed; steps++) {
          entry.again = false;
          if ((await this.step(runId)) === "again") entry.again = true;
        }
      } catch (err) {
        this.deps.log?.warn({ run: runId, err: (err as Error).message }, "run step failed; the sweep retries it");
      } finally {
        this.loops.delete(runId);
      }
    })();
    return entry.done;
  }

  /** Kick every dirty run (the worker's sweep). */
  async sweep(): Promise<number> {
    const ids = await this.deps.store.dirty();
    await Promise.all(ids.map((id) => this.kick(id)));
    return ids.length;
  }

  /** Stop stepping and drop the timers (a dirty run is left for the sweep). */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) this.deps.clock.clearTimeout(t);
    this.timers.clear();
  }

  private async step(runId: string): Promise<StepResult> {
    const { store, clock } = this.deps;
    const read = await store.state(runId);
    if (!read) return "idle";
    const { base, state } = read;
    if (state.status !== "running") {
      await store.clean(runId, state, true);
      return "idle";
    }
    const now = clock.now();
    if (state.reserved) {
      // A release across partitions whose un-holds may not all have run (its process died, or
      // it is running now): finished before anything is decided on the window (idempotent).
      await store.completeReservation(runId, state.reserved, now, state);
      return "again";
    }
    const plan = planRunStep(state, now);
    if (plan.release > 0) {
      await store.release(runId, state, plan.release, now);
      // Released or raced: either way, look again (more to release, or a report due).
      return "again";
    }
    if (plan.cancelQueued) {
      await store.cancelQueued(runId, now, state.cancelled ? "the run was cancelled" : "stop_on_failure: a command of the run failed");
      return "again";
    }
    if (plan.report) {
      // Reported or raced; after the final report the next step finds the run ended.
      await store.report(runId, base, state, now, plan.report.final);
      return "again";
    }
    if (plan.deferMs !== null) {
      if (!this.timers.has(runId) && !this.closed) {
        const t = clock.setTimeout(() => {
          this.timers.delete(runId);
          void this.kick(runId);
        }, plan.deferMs);
        t.unref?.();
        this.timers.set(runId, t);
      }
      return "idle";
    }
    await store.clean(runId, state);
    return "idle";
  }
}
