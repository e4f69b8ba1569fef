import type { ChainableCommander } from "ioredis";
import { CommandStatusSchema, FINAL_COMMAND_STATUSES, type Command, type LoggedEvent, type Run } from "@tether/protocol";
import type { Keys } from "./keys";
import { RUN_FAILURE_STATUSES, zeroCounts } from "./run-counts";

/** A run as the log determines it: the run, its commands in order, how far it released, whether cancel was asked. */
export interface RunFold {
  run: Run;
  commandIds: string[];
  next: number;
  cancelled: boolean;
}

/** The runs of a fold, and the commands recorded for a run whose first `run_update` is still to come. */
export interface RunsFold {
  runs: Map<string, RunFold>;
  waiting: Map<string, string[]>;
}

export const emptyRunsFold = (): RunsFold => ({ runs: new Map(), waiting: new Map() });

/** Fold one run event (or a command of a run being recorded) into `fold`. */
export function evolveRuns(fold: RunsFold, event: LoggedEvent): void {
  const { runs, waiting } = fold;
  switch (event.type) {
    case "command_queued": {
      const runId = event.payload.command.run_id;
      if (!runId) break;
      // A run's commands are recorded before the run (see RunStore.create).
      const run = runs.get(runId);
      if (run) run.commandIds.push(event.payload.command.id);
      else waiting.set(runId, [...(waiting.get(runId) ?? []), event.payload.command.id]);
      break;
    }
    case "run_released": {
      const r = runs.get(event.payload.run_id);
      if (r) r.next = Math.max(r.next, event.payload.next);
      break;
    }
    case "run_cancelled": {
      const r = runs.get(event.payload.run_id);
      if (r) r.cancelled = true;
      break;
    }
    case "run_update": {
      const run = event.payload.run;
      const r = runs.get(run.id);
      if (r) r.run = run;
      else {
        runs.set(run.id, { run, commandIds: waiting.get(run.id) ?? [], next: 0, cancelled: false });
        waiting.delete(run.id);
      }
      break;
    }
    default:
      break;
  }
}

/**
 * Queue the writes that restore every run (in the rebuild's MULTI, after the commands): counts
 * from its commands' statuses, held commands marked and out of their host's pending set, and
 * every unfinished run dirty, so the worker's sweep steps (and re-reports) it.
 */
export function writeRuns(
  tx: ChainableCommander,
  keys: Keys,
  runs: Map<string, RunFold>,
  commands: Map<string, Command>,
  oldRunIds: string[],
): void {
  for (const id of new Set([...oldRunIds, ...runs.keys()])) tx.del(keys.runMeta(id), keys.runCounts(id), keys.runCommands(id));
  tx.del(keys.runs, keys.runsByTime, keys.runsDirty);
  for (const [id, r] of runs) {
    const counts = zeroCounts();
    let active = 0;
    let failures = 0;
    r.commandIds.forEach((cid, i) => {
      const cmd = commands.get(cid);
      if (!cmd) return;
      counts[cmd.status] += 1;
      if (RUN_FAILURE_STATUSES.has(cmd.status)) failures++;
      const final = FINAL_COMMAND_STATUSES.has(cmd.status);
      if (i < r.next && !final) active++;
      if (i >= r.next && cmd.status === "queued") {
        tx.hset(keys.commandMeta(cid), "hold", 1, "run", id);
        tx.zrem(keys.hostPending(cmd.host_id), cid);
      }
    });
    tx.hset(keys.runs, id, JSON.stringify(r.run));
    tx.zadd(keys.runsByTime, r.run.created_at, id);
    if (r.commandIds.length) tx.rpush(keys.runCommands(id), ...r.commandIds);
    tx.hset(
      keys.runCounts(id),
      ...CommandStatusSchema.options.flatMap((s) => [s, counts[s]]),
      "active",
      active,
      "failures",
      failures,
      "changes",
      0,
    );
    tx.hset(
      keys.runMeta(id),
      ...["status", r.run.status, "next", r.next, "total", r.commandIds.length, "max_parallel", r.run.max_parallel ?? ""],
      ...["stop", r.run.stop_on_failure ? 1 : 0, "cancelled", r.cancelled ? 1 : "", "held_cancelled", "", "reported", -1, "last_update", 0],
    );
    if (r.run.status === "running") tx.sadd(keys.runsDirty, id);
  }
}
