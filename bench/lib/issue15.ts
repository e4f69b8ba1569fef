/**
 * Issue 15's targets: Tether held against the bare relay (or another figure of the same run, or
 * a baseline), as medians of the interleaved repetitions, each shown with what it is made of so
 * a reader sees whether one repetition decided it.
 */
import type { ScenarioResult, Target } from "./report";
import type { PhaseResult } from "./rig";
import type { System } from "../gen/protocol";

/** A figure measured once per repetition: the median, and every repetition's value in run order. */
export interface Repeated {
  median: number;
  runs: number[];
}

/** The median (the middle one of three; the lower middle of an even count, like compare's) of `values`. */
export function repeated(values: readonly number[]): Repeated | undefined {
  const measured = values.filter((v) => Number.isFinite(v));
  if (measured.length === 0) return undefined;
  const sorted = [...measured].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, runs: measured };
}

export interface RatioSpec {
  point: number;
  name: string;
  tether: Repeated | undefined;
  reference: Repeated | undefined;
  /** Names the reference in the table: `bare`, `online p99`. */
  against: string;
  /** Tether's median ÷ the reference's must be at most this. */
  goal: number;
  /** Of both figures: ` ms`, ` µs/frame`, ` KiB/socket`. */
  unit: string;
  digits?: number;
}

/** Tether's median ÷ the reference's median ≤ `goal`; "not measured" when either is missing. */
export function ratioTarget(spec: RatioSpec): Target {
  const { tether: t, reference: r, unit } = spec;
  const digits = spec.digits ?? 2;
  const ratio = t && r && r.median > 0 ? t.median / r.median : undefined;
  const runs = (label: string, x: Repeated | undefined) =>
    x && x.runs.length > 1 ? `${label} ${x.runs.map((v) => v.toFixed(digits)).join(" / ")}${unit}` : undefined;
  const spread = [runs("tether", t), runs(spec.against, r)].filter(Boolean).join("; ");
  return {
    point: spec.point,
    name: spec.name,
    actual: ratio === undefined ? "not measured" : `${ratio.toFixed(2)}×`,
    goal: `≤ ${spec.goal}×`,
    pass: ratio === undefined ? null : ratio <= spec.goal,
    tether: t ? `${t.median.toFixed(digits)}${unit}` : undefined,
    reference: r ? `${spec.against} ${r.median.toFixed(digits)}${unit}` : undefined,
    spread: spread || undefined,
  };
}

/** Each system's two relay nodes, as the rigs name them: issue 15 counts their CPU, not Redis's or the generators'. */
const RELAY_NODES: Record<System, [string, string]> = { tether: ["hubA", "hubB"], bare: ["bareA", "bareB"], sio: ["sioA", "sioB"] };

/** Both relay nodes' CPU-seconds over the phase ÷ frames delivered (to all receivers), in µs; NaN if unknown. */
export function cpuPerFrameUs(system: System, r: Pick<PhaseResult, "cpuSeconds" | "delivery">): number {
  const delivered = r.delivery.receivers * r.delivery.expectedEach - r.delivery.missing;
  const seconds = RELAY_NODES[system].reduce((sum, name) => sum + (r.cpuSeconds[name] ?? Number.NaN), 0);
  return delivered > 0 ? (seconds / delivered) * 1e6 : Number.NaN;
}

/** Target 2's bound: dispatch → agent p99 over the `online` p99 of the same run. */
export const DISPATCH_OVER_ONLINE = 1.5;

/**
 * Every issue 15 target of the run, by point: the scenarios' own, and the one that takes two
 * scenarios (dispatch ÷ online), listed when either of them ran. A scenario's first row is its
 * headline (online: register → host_update; dispatch: browser dispatch → agent command).
 */
export function issue15Targets(results: readonly ScenarioResult[]): Target[] {
  const headline = (scenario: string) => results.find((r) => r.scenario === scenario && !r.error)?.rows[0]?.p99;
  const ran = results.some((r) => r.scenario === "online" || r.scenario === "dispatch");
  const one = (v: number | undefined) => (v === undefined ? undefined : repeated([v]));
  const cross: Target[] = ran
    ? [
        ratioTarget({
          point: 2,
          name: "dispatch → agent p99 ÷ online p99",
          tether: one(headline("dispatch")),
          reference: one(headline("online")),
          against: "online",
          goal: DISPATCH_OVER_ONLINE,
          unit: " ms",
        }),
      ]
    : [];
  // Stable: within a point, the order the scenarios gave.
  return [...results.flatMap((r) => r.issue15 ?? []), ...cross].sort((a, b) => (a.point ?? 0) - (b.point ?? 0));
}
