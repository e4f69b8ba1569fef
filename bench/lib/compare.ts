/**
 * Tether and the references measured side by side: every system's rig stays open, and each
 * phase is repeated `reps` times, interleaved (bare, sio, tether, then rotated), so a burst of
 * load from elsewhere on the machine hits all of them alike. A row reports the median repetition
 * (by p99 for paced phases, by rate for max), and the delivery check sums every repetition.
 */
import { checkDelivery, type DeliveryCheck } from "./delivery";
import { openRig, type PhaseResult, type Rig, type RigOptions } from "./rig";
import type { Ctx } from "./scenario";
import type { System } from "../gen/protocol";

export interface PhasePlan {
  label: string;
  /** Frames/s; 0 = as fast as it goes. */
  rate: number;
  count: number;
}

/** A phase's median repetition, with every repetition's delivery summed in. */
export interface Compared extends PhasePlan {
  system: System;
  median: PhaseResult;
  runs: PhaseResult[];
  delivery: DeliveryCheck;
}

function sumDelivery(runs: readonly PhaseResult[]): DeliveryCheck {
  const total = checkDelivery(0, []);
  for (const r of runs) {
    total.receivers = r.delivery.receivers;
    total.expectedEach += r.delivery.expectedEach;
    total.missing += r.delivery.missing;
    total.duplicates += r.delivery.duplicates;
    total.reordered += r.delivery.reordered;
    total.idOrderErrors += r.delivery.idOrderErrors;
  }
  return total;
}

export async function compare(
  ctx: Ctx,
  scenario: string,
  systems: readonly System[],
  rigOptions: RigOptions,
  warmUp: PhasePlan,
  phases: readonly PhasePlan[],
  reps: number,
): Promise<Compared[]> {
  const rigs: Rig[] = [];
  try {
    for (const system of systems) {
      rigs.push(await openRig(system, ctx.tether, rigOptions));
      // JIT, connections, Redis scripts; checked for delivery (below) but not reported.
      const warm = await rigs.at(-1)!.phase(warmUp.label, warmUp.rate, warmUp.count);
      if (warm.delivery.missing + warm.delivery.duplicates + warm.delivery.reordered > 0)
        ctx.log(`${scenario}: ${system} warm-up LOST frames`);
    }
    const out: Compared[] = [];
    for (const plan of phases) {
      const runs = new Map<System, PhaseResult[]>(systems.map((s) => [s, []]));
      for (let rep = 0; rep < reps; rep++) {
        // Rotate the order so no system always runs right after another one's max phase.
        const order = rigs.map((_, i) => rigs[(i + rep) % rigs.length]!);
        for (const rig of order) {
          if (ctx.profile && rig.system === "tether") await ctx.tether.toggleProfile();
          const r = await rig.phase(plan.label, plan.rate, plan.count);
          if (ctx.profile && rig.system === "tether") await ctx.tether.toggleProfile();
          ctx.log(`${scenario}: ${rig.system} ${plan.label} #${rep + 1}: p99 ${r.latency.p99.toFixed(2)} ms, ${Math.round(r.recvRate)}/s`);
          runs.get(rig.system)!.push(r);
        }
      }
      for (const [system, list] of runs) {
        const key = (r: PhaseResult) => (plan.rate === 0 ? -r.recvRate : r.latency.p99);
        const sorted = [...list].sort((a, b) => key(a) - key(b));
        out.push({ ...plan, system, median: sorted[Math.floor((sorted.length - 1) / 2)]!, runs: list, delivery: sumDelivery(list) });
      }
    }
    return out;
  } finally {
    for (const rig of rigs) await rig.close();
  }
}

/** "median of 3; p99 4.1 / 5.0 / 9.2 ms" (or rates for a max phase). */
export function describeRuns(c: Compared): string {
  if (c.runs.length === 1) return "";
  const values = c.runs.map((r) => (c.rate === 0 ? `${Math.round(r.recvRate).toLocaleString("en-US")}/s` : `${r.latency.p99.toFixed(1)}`));
  return `median of ${c.runs.length}; ${c.rate === 0 ? "rates" : "p99s"} ${values.join(" / ")}${c.rate === 0 ? "" : " ms"}`;
}
