/** What every scenario gets and gives. */
import type { ScenarioResult, Row, Target } from "./report";
import type { PhaseResult } from "./rig";
import type { TetherBench } from "./tether";

/** How big a run is: `full` (< 15 min), `quick` (< 3 min), `smoke` (tiny, for the e2e test). */
export type Size = "full" | "quick" | "smoke";

export interface Ctx {
  size: Size;
  /** `--profile`: the hubs are CPU-profiled; `output` measures only Tether's max phase. */
  profile: boolean;
  tether: TetherBench;
  /** The cluster stack's pass of `--cluster`: Tether alone (the references need the single Redis). */
  cluster: boolean;
  /** Progress on stderr (the report goes to stdout). */
  log(message: string): void;
}

export interface Scenario {
  name: string;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

/** The value for this run's size. */
export function sized<T>(ctx: Ctx, full: T, quick: T, smoke: T): T {
  return ctx.size === "full" ? full : ctx.size === "quick" ? quick : smoke;
}

/** A table row from a measured output phase. */
export function phaseRow(scenario: string, caseName: string, p: PhaseResult, note = ""): Row {
  return {
    scenario,
    case: caseName,
    system: p.system,
    n: p.latency.n,
    p50: p.latency.p50,
    p99: p.latency.p99,
    p999: p.latency.p999,
    max: p.latency.max,
    rate: p.recvRate,
    note: note || `sent ${Math.round(p.sendRate).toLocaleString("en-US")}/s`,
    delivery: p.delivery,
    cpu: p.cpu,
    ...(p.redis ? { redis: p.redis } : {}),
  };
}

/** A target whose actual value must be ≤ (or ≥) a goal. `actual` undefined → not measured. */
export function target(name: string, actual: number | undefined, op: "<=" | ">=", goal: number, unit: string, shownGoal?: string): Target {
  const measured = actual !== undefined && !Number.isNaN(actual);
  const pass = !measured ? null : op === "<=" ? actual <= goal : actual >= goal;
  const show = (v: number) => `${Number.isInteger(v) ? v : v.toFixed(2)}${unit}`;
  return { name, actual: measured ? show(actual) : "not measured", goal: shownGoal ?? `${op === "<=" ? "≤" : "≥"} ${show(goal)}`, pass };
}

export function ms(v: number): string {
  return `${v.toFixed(2)} ms`;
}
