/**
 * `output`: one agent streams 100-byte `output` frames to 3 browsers on the other node, at
 * 1,000 and 5,000 frames/s (paced), then as fast as it goes for a fixed count. Same generator,
 * same phases, interleaved repetitions for Tether, the bare relay and Socket.IO.
 */
import { compare, describeRuns, type Compared, type PhasePlan } from "../lib/compare";
import { cpuPerFrameUs, ratioTarget, repeated, type Repeated } from "../lib/issue15";
import type { PhaseResult } from "../lib/rig";
import { phaseRow, sized, target, type Ctx, type Scenario } from "../lib/scenario";
import type { System } from "../gen/protocol";

export const output: Scenario = {
  name: "output",
  async run(ctx: Ctx) {
    const secs = sized(ctx, 10, 3, 0.5);
    const maxCount = sized(ctx, 100_000, 20_000, 2000);
    const reps = ctx.profile ? 1 : sized(ctx, 3, 1, 1);
    const phases: PhasePlan[] = [
      { label: "1k/s", rate: 1000, count: 1000 * secs },
      { label: "5k/s", rate: 5000, count: 5000 * secs },
      { label: "max", rate: 0, count: maxCount },
    ];
    // --profile: only Tether's max phase, so the hubs' profiles are about that.
    // The cluster stack: Tether alone (the references relay over the single Redis).
    const systems: System[] = ctx.profile || ctx.cluster ? ["tether"] : ["bare", "sio", "tether"];
    const plan = ctx.profile ? phases.filter((p) => p.rate === 0) : phases;
    const warmUp = { label: "warm-up", rate: 5000, count: sized(ctx, 2000, 2000, 500) };
    const results = await compare(ctx, "output", systems, { receivers: 3, receiverProcs: 1 }, warmUp, plan, reps);
    const get = (system: System, label: string): Compared | undefined => results.find((c) => c.system === system && c.label === label);
    const ratio = (a?: number, c?: number) => (a === undefined || c === undefined || c === 0 ? undefined : a / c);
    const t = (label: string) => get("tether", label)?.median;
    const b = (label: string) => get("bare", label)?.median;
    const s = (label: string) => get("sio", label)?.median;
    const each = (system: System, label: string, of: (r: PhaseResult) => number): Repeated | undefined =>
      repeated(get(system, label)?.runs.map(of) ?? []);
    const p99 = (r: PhaseResult) => r.latency.p99;
    const p99Target = (label: string) =>
      ratioTarget({
        point: 1,
        name: `output p99 @${label} ÷ bare`,
        tether: each("tether", label, p99),
        reference: each("bare", label, p99),
        against: "bare",
        goal: 1.3,
        unit: " ms",
      });
    return {
      scenario: "output",
      rows: results.map((c) => ({ ...phaseRow("output", c.label, c.median, describeRuns(c)), delivery: c.delivery })),
      targets: [
        target("output max throughput ÷ bare", ratio(t("max")?.recvRate, b("max")?.recvRate), ">=", 1, "×"),
        target("output max throughput ÷ Socket.IO", ratio(t("max")?.recvRate, s("max")?.recvRate), ">=", 2, "×"),
        target("output p99 @5k/s ÷ bare p99", ratio(t("5k/s")?.latency.p99, b("5k/s")?.latency.p99), "<=", 2, "×"),
        target("output p99 @5k/s", t("5k/s")?.latency.p99, "<=", 5, " ms"),
      ],
      issue15: [
        p99Target("1k/s"),
        p99Target("5k/s"),
        ratioTarget({
          point: 1,
          name: "hub CPU per frame delivered @1k/s ÷ bare (both nodes)",
          tether: each("tether", "1k/s", (r) => cpuPerFrameUs("tether", r)),
          reference: each("bare", "1k/s", (r) => cpuPerFrameUs("bare", r)),
          against: "bare",
          goal: 1.2,
          unit: " µs",
          digits: 1,
        }),
      ],
      notes: [
        `paced phases ${secs} s each; max phase ${maxCount.toLocaleString("en-US")} frames with the agent's unsent bytes ≤ 256 KiB; ${reps} interleaved repetition(s) per phase`,
      ],
    };
  },
};
