import { planRunStep, zeroCounts, type RunState } from "../src";

const state = (over: Partial<RunState> = {}): RunState => ({
  status: "running",
  total: 5,
  next: 0,
  maxParallel: 2,
  stopOnFailure: false,
  cancelled: false,
  heldCancelled: false,
  reported: -1,
  lastUpdateAt: 0,
  counts: { ...zeroCounts(), queued: 5 },
  active: 0,
  failures: 0,
  changes: 0,
  ...over,
});

test("a new run releases the first window, and only that", () => {
  expect(planRunStep(state(), 1000).release).toBe(2);
  expect(planRunStep(state({ maxParallel: undefined }), 1000).release).toBe(5);
});

test("the window rolls: a finished command frees exactly one slot", () => {
  expect(planRunStep(state({ next: 2, active: 1 }), 1000).release).toBe(1);
  expect(planRunStep(state({ next: 2, active: 2 }), 1000).release).toBe(0);
  expect(planRunStep(state({ next: 5, active: 0 }), 1000).release).toBe(0);
});

test("stop_on_failure: a failure releases nothing more and cancels what is queued, once", () => {
  const failed = state({ stopOnFailure: true, failures: 1, next: 2, active: 1, counts: { ...zeroCounts(), queued: 4, failed: 1 } });
  expect(planRunStep(failed, 1000)).toMatchObject({ release: 0, cancelQueued: true });
  expect(planRunStep({ ...failed, heldCancelled: true }, 1000).cancelQueued).toBe(false);
  expect(planRunStep(state({ failures: 1, next: 2, active: 1 }), 1000).release).toBe(1);
});

test("run_update: at most one per 100 ms; the final one at once", () => {
  const changed = state({ next: 2, active: 2, changes: 3, reported: 1, lastUpdateAt: 950 });
  expect(planRunStep(changed, 1000)).toMatchObject({ report: null, deferMs: 50 });
  expect(planRunStep(changed, 1050).report).toEqual({ final: false });
  expect(planRunStep({ ...changed, reported: 3 }, 1050)).toMatchObject({ report: null, deferMs: null });
  const done = state({
    next: 5,
    active: 0,
    changes: 9,
    reported: 8,
    lastUpdateAt: 999,
    counts: { ...zeroCounts(), succeeded: 4, failed: 1 },
  });
  expect(planRunStep(done, 1000).report).toEqual({ final: true });
  expect(planRunStep({ ...done, status: "finished" }, 1000).report).toBeNull();
});
