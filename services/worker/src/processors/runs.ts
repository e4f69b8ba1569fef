import type { RunEngine } from "@tether/core";

/**
 * Step every run left dirty: a change that the process which made it did not get to act on (it
 * died between the command's change and the run's step). Idempotent: the steps are guarded.
 */
export async function runSweepRuns(engine: RunEngine): Promise<{ runs: number }> {
  return { runs: await engine.sweep() };
}
