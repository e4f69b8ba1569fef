import type { Cluster, Redis } from "ioredis";
import type { Command, Run } from "@tether/protocol";
import type { HostChannelMessage } from "./bus";
import type { Guard, Op } from "./event-log";
import type { Keys } from "./keys";
import type { Partition, PartitionSet } from "./partition-set";
import { RUN_BOOKKEEPING_AUDIENCE } from "./run-counts";
import { isStopped, type RunState } from "./run-plan";

/** Most commands released in one Redis call: keeps each script short for everyone else. */
const BATCH = 500;

/** A run's home partition (partitionOf(run id)): its meta, command list, listing entry and own events. */
export const homeOf = (parts: PartitionSet, runId: string): Partition => parts.ofHost(runId);

/** The partition of one of our commands (an id we minted names one): a bug otherwise. */
export function partitionOfOwn(parts: PartitionSet, commandId: string): Partition {
  const p = parts.ofCommand(commandId);
  if (!p) throw new Error(`command ${commandId} names no partition of this deployment`);
  return p;
}

/** `ids` grouped by partition, each group in the order given. */
export function groupByPartition(parts: PartitionSet, ids: string[]): Map<Partition, string[]> {
  const out = new Map<Partition, string[]>();
  for (const id of ids) {
    const p = partitionOfOwn(parts, id);
    const list = out.get(p);
    if (list) list.push(id);
    else out.set(p, [id]);
  }
  return out;
}

/** What releasing reads of the run (the RunStore). */
interface RunReads {
  state(id: string): Promise<{ base: Run; state: RunState } | null>;
  commandIds(id: string, from?: number, to?: number): Promise<string[]>;
}

/**
 * Releasing a run's held commands (max_parallel): with one partition one atomic step; across
 * partitions a home step that reserves a range, then one un-hold step per partition (each one
 * slot), then the home clears the reservation (docs/design.md "Runs across partitions").
 */
export class RunReleases {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly parts: PartitionSet,
    private readonly nodeId: string,
    private readonly runs: RunReads,
  ) {}

  /**
   * Release up to `n` commands from `s.next`: each still queued and held is added to its host's
   * pending set and announced on its channel (the hub holding the agent claims it).
   *
   * One partition: one atomic step guarded on `next` (no other step released meanwhile), on no
   * cancel or failure since `s` was read, and on each command still being queued and held.
   * False: retry. More partitions: {@link reserve} then {@link completeReservation}.
   */
  async release(id: string, s: RunState, n: number, now: number): Promise<boolean> {
    if (this.parts.count > 1) {
      const range = await this.reserve(id, s, n);
      if (!range) return false;
      await this.completeReservation(id, range, now);
      return true;
    }
    const keys = this.parts.all[0]!.keys;
    const log = this.parts.all[0]!.log;
    const to = Math.min(s.total, s.next + Math.min(n, BATCH));
    const ids = await this.runs.commandIds(id, s.next, to - 1);
    const { metas, jsons } = await this.readHeld(keys, ids);
    const meta = keys.runMeta(id);
    const guards: Guard[] = [
      { key: meta, field: "next", equals: String(s.next) },
      { key: meta, field: "cancelled", equals: "" },
    ];
    if (s.stopOnFailure) guards.push({ key: keys.runCounts(id), field: "failures", equals: "0" });
    const { guards: unhold, ops: unholdOps } = this.unholdOps(keys, id, ids, metas, jsons, now);
    const ops: Op[] = [{ cmd: "HSET", key: meta, args: ["next", to] }, ...unholdOps];
    const out = await log.append({
      event: { type: "run_released", payload: { run_id: id, next: to } },
      team: RUN_BOOKKEEPING_AUDIENCE,
      except: RUN_BOOKKEEPING_AUDIENCE,
      guards: [...guards, ...unhold],
      ops,
    });
    return out.ok;
  }

  /** Each command's status and hold, and its JSON, from one partition, as of one moment. */
  private async readHeld(keys: Keys, ids: string[]) {
    const pipe = this.redis.multi();
    for (const cid of ids) pipe.hmget(keys.commandMeta(cid), "status", "hold");
    if (ids.length) pipe.hmget(keys.commands, ...ids);
    const res = (await pipe.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    const metas = ids.map((_cid, i) => res[i]![1] as [string | null, string | null]);
    const jsons = (ids.length ? res.at(-1)![1] : []) as Array<string | null>;
    return { metas, jsons };
  }

  /**
   * Guards and ops that un-hold those of `ids` (one partition's, read as `metas`/`jsons`) still
   * queued and held, and count them `active` in that partition's shard. A command final already
   * (expired or cancelled while held) is skipped: it only moves `next` on.
   */
  private unholdOps(
    keys: Keys,
    runId: string,
    ids: string[],
    metas: Array<[string | null, string | null]>,
    jsons: Array<string | null>,
    now: number,
  ) {
    const guards: Guard[] = [];
    const ops: Op[] = [];
    let released = 0;
    ids.forEach((cid, i) => {
      const [status, hold] = metas[i]!;
      const json = jsons[i];
      if (status !== "queued" || hold !== "1" || !json) return;
      const command = JSON.parse(json) as Command;
      const cmeta = keys.commandMeta(cid);
      guards.push({ key: cmeta, field: "status", equals: "queued" }, { key: cmeta, field: "hold", equals: "1" });
      const deliver: HostChannelMessage = { kind: "deliver", node: this.nodeId, command };
      ops.push(
        // The version moves too: a finish that read the command while held (a cancel, its TTL)
        // must read it again, or it would count it out of a window it was never in.
        { cmd: "HINCRBY", key: cmeta, args: ["v", 1] },
        { cmd: "HDEL", key: cmeta, args: ["hold"] },
        { cmd: "ZADD", key: keys.hostPending(command.host_id), args: [now + i / 1000, cid] },
        { cmd: "PUBLISH", key: keys.hostChannel(command.host_id), args: [JSON.stringify(deliver)] },
      );
      released++;
    });
    if (released) ops.push({ cmd: "HINCRBY", key: keys.runCounts(runId), args: ["active", released] });
    return { guards, ops, released };
  }

  /**
   * The home step of a release across partitions (`run_released`): moves `next` past the range
   * [s.next, to) and records it as `reserved`, guarded on `next`, on no cancel and on no other
   * reservation outstanding. Returns the range, or null (raced, or one is outstanding: complete
   * it first). The run is marked dirty in the same step, so a process that dies before the
   * un-holds leaves the reservation to the sweep ({@link completeReservation}).
   *
   * `stop_on_failure` is decided on `s.failures`, the sum of the shards as read just before: a
   * failure in another partition landing between that read and this step is not seen here. It is
   * seen by the re-read in {@link completeReservation} before any un-hold (and each partition's
   * un-hold is guarded on its own shard's failures), so what is left is a failure landing during
   * the un-holds: those commands are released as if the release had come just before the failure,
   * which a single-step release allows too, and the stop's cancel of every queued command follows.
   */
  async reserve(id: string, s: RunState, n: number): Promise<{ from: number; to: number } | null> {
    if (s.reserved) return null;
    const { keys, log } = homeOf(this.parts, id);
    const to = Math.min(s.total, s.next + Math.min(n, BATCH));
    const meta = keys.runMeta(id);
    const out = await log.append({
      event: { type: "run_released", payload: { run_id: id, next: to } },
      team: RUN_BOOKKEEPING_AUDIENCE,
      except: RUN_BOOKKEEPING_AUDIENCE,
      guards: [
        { key: meta, field: "next", equals: String(s.next) },
        { key: meta, field: "cancelled", equals: "" },
        { key: meta, field: "reserved", equals: "" },
      ],
      ops: [
        { cmd: "HSET", key: meta, args: ["next", to, "reserved", `${s.next}:${to}`] },
        { cmd: "SADD", key: keys.runsDirty, args: [id] },
      ],
    });
    return out.ok ? { from: s.next, to } : null;
  }

  /**
   * Finish a reservation: un-hold, per partition, every command of the range still queued and
   * held (each step idempotent: guarded on those commands, so a second completer, or one after
   * a crash, un-holds nothing twice), unless the run stopped meanwhile (then they stay held and
   * the stop cancels them); then clear `reserved` (guarded on it being this range). `s`: a state
   * read after the reservation was made (the engine's), else it is read here.
   */
  async completeReservation(id: string, range: { from: number; to: number }, now: number, s?: RunState): Promise<void> {
    const state = s ?? (await this.runs.state(id))?.state;
    if (!state || state.reserved?.from !== range.from || state.reserved.to !== range.to) return;
    if (!isStopped(state)) {
      const ids = await this.runs.commandIds(id, range.from, range.to - 1);
      await Promise.all([...groupByPartition(this.parts, ids)].map(([p, pids]) => this.unhold(p, id, pids, state.stopOnFailure, now)));
    }
    const { keys, log } = homeOf(this.parts, id);
    const meta = keys.runMeta(id);
    await log.append({
      guards: [{ key: meta, field: "reserved", equals: `${range.from}:${range.to}` }],
      ops: [{ cmd: "HDEL", key: meta, args: ["reserved"] }],
    });
  }

  /** One partition's un-hold step of a reservation; re-read and redone when a command changed between read and step. */
  private async unhold(p: Partition, runId: string, ids: string[], stopOnFailure: boolean, now: number): Promise<void> {
    const counts = p.keys.runCounts(runId);
    for (;;) {
      const { metas, jsons } = await this.readHeld(p.keys, ids);
      const { guards, ops, released } = this.unholdOps(p.keys, runId, ids, metas, jsons, now);
      if (!released) return;
      const stop: Guard[] = stopOnFailure ? [{ key: counts, field: "failures", equals: "0" }] : [];
      const out = await p.log.append({ guards: [...stop, ...guards], ops });
      // Done, or a failure in this partition stopped the run (the rest stays held, to be cancelled).
      if (out.ok || (stop.length && out.failedGuard === 1)) return;
    }
  }
}
