/**
 * The faults a chaos run injects, and the plan of when: drawn from the seed before the run
 * starts, so the same seed gives the same faults at the same offsets.
 */
import { Random } from "./random";

export const FAULT_KINDS = [
  /** `kill -9` of a hub, started again on its port after a pause. */
  "hub-kill",
  /** SIGTERM of a hub (it drains its agents to the others), started again after its exit. */
  "hub-drain",
  /** SIGSTOP of a hub for a few seconds (a frozen node), then SIGCONT. */
  "hub-freeze",
  /** `kill -9` of a worker (mid-job, as likely as not), started again. */
  "worker-kill",
  /** `kill -9` of the api, started again on its port. */
  "api-kill",
  /** `kill -9` of the Redis primary: the Sentinels promote the replica; the old one comes back as a replica. */
  "redis-failover",
  /** One browser stops reading for a few seconds (the hub may close it 1013; it resumes). */
  "slow-browser",
  /** Up to 500 agents lose their sockets at once and reconnect with backoff. */
  "agent-burst",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** Offset from the start of the fault phase, ms. */
  at: number;
  kind: FaultKind;
  /** Which of the targets (hub index, browser index); 0 where there is one. */
  target: number;
  /** How long the fault lasts before it is undone (pause before restart, freeze, stall), ms. */
  holdMs: number;
}

export interface PlanOptions {
  durationMs: number;
  hubs: number;
  browsers: number;
  /** Mean gap between faults, ms (drawn uniformly in [0.5, 1.5] × this). */
  meanGapMs: number;
  /** Only these kinds (default: all). */
  kinds?: readonly FaultKind[];
}

/**
 * Faults at random times over `durationMs`. Every kind appears at least once when the run is
 * long enough for one of each (the first few are a shuffled round of all kinds), then at random.
 */
export function planFaults(random: Random, options: PlanOptions): PlannedFault[] {
  const plan: PlannedFault[] = [];
  const kinds = options.kinds ?? FAULT_KINDS;
  const firstRound = [...kinds];
  for (let i = firstRound.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [firstRound[i], firstRound[j]] = [firstRound[j]!, firstRound[i]!];
  }
  let at = Math.round(options.meanGapMs * (0.5 + random.next()) * 0.5);
  while (at < options.durationMs) {
    const kind = firstRound.shift() ?? random.pick(kinds);
    const target = kind.startsWith("hub-")
      ? random.int(0, options.hubs - 1)
      : kind === "slow-browser"
        ? random.int(0, options.browsers - 1)
        : 0;
    const holdMs = kind === "hub-freeze" || kind === "slow-browser" ? random.int(2000, 6000) : random.int(200, 2000);
    plan.push({ at, kind, target, holdMs });
    at += Math.round(options.meanGapMs * (0.5 + random.next()));
  }
  return plan;
}
