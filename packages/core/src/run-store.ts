import type { Cluster, Redis } from "ioredis";
import { CommandStatusSchema, type Command, type Run } from "@tether/protocol";
import type { CommandStore } from "./commands";
import type { AppendResult, Guard, Op } from "./event-log";
import type { Partition, PartitionSet } from "./partition-set";
import { RUN_BOOKKEEPING_AUDIENCE, chunks, runView, zeroCounts } from "./run-counts";
import { listRunIds } from "./run-list";
import type { RunState } from "./run-plan";
import { RunReleases, groupByPartition, homeOf, partitionOfOwn } from "./run-release";

/** Most commands recorded in one Redis call: keeps each script short for everyone else. */
const BATCH = 500;

/**
 * Runs (CONTRACT §6): the projection (`runs` hash, per-run meta, counts and command list) and
 * its writers. Every write goes through the event log's atomic append, guarded, so that two
 * processes stepping the same run, or one retrying after another died, never release a command
 * twice nor report a count twice.
 *
 * Across partitions (`LOG_PARTITIONS` > 1, issue 16) every step still touches one slot: a run's
 * meta, command list, listing entry and own events (`run_update`, `run_released`, `run_cancelled`)
 * live in its HOME partition (partitionOf(run id)); its counts are sharded, one hash per partition
 * holding its commands (and the home's), bumped in the same step as the command's own change; its
 * state is the home meta with the shards summed. A release is a home step that reserves a range
 * of commands, then one un-hold step per partition (see {@link RunReleases}).
 */
export class RunStore {
  private readonly releases: RunReleases;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly parts: PartitionSet,
    private readonly commands: CommandStore,
    nodeId: string,
  ) {
    this.releases = new RunReleases(redis, parts, nodeId, this);
  }

  /** How many partitions (`LOG_PARTITIONS`): command ids of a run must name their host's. */
  get partitions(): number {
    return this.parts.count;
  }

  private home(runId: string): Partition {
    return homeOf(this.parts, runId);
  }

  private partOf(commandId: string): Partition {
    return partitionOfOwn(this.parts, commandId);
  }

  private byPartition(ids: string[]): Map<Partition, string[]> {
    return groupByPartition(this.parts, ids);
  }

  /**
   * Record a run's commands (`command_queued`, each with `run_id`, all held back: none is
   * delivered until a step releases it), then the run itself (its first `run_update`). In that
   * order: a process that dies in between leaves held commands no run knows (they expire with
   * their TTL, never run) and no half-made run. False if the run id was taken.
   *
   * With more than one partition each command is recorded in its own partition (its id names
   * it), and each partition's count shard is set up before the home step, so no count of a
   * command can land before its shard exists.
   */
  async create(run: Run, commands: Command[], now: number): Promise<boolean> {
    const id = run.id;
    const home = this.home(id);
    const keys = home.keys;
    const single = this.parts.count === 1;
    // Sent together on one connection, so Redis records them in this order: the run's order.
    for (const part of chunks(commands, BATCH)) await Promise.all(part.map((c) => this.recordHeld(c)));
    const shard = (queued: number): Op => {
      const counts = zeroCounts();
      counts.queued = queued;
      return { cmd: "HSET", key: "", args: [...Object.entries(counts).flat(), "active", 0, "failures", 0, "changes", 0] };
    };
    let shards: number[] = [];
    if (!single) {
      const perPartition = new Map<number, number>([[home.index, 0]]);
      for (const c of commands) {
        const p = this.partOf(c.id).index;
        perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
      }
      shards = [...perPartition.keys()].sort((a, b) => a - b);
      await Promise.all(
        [...perPartition].map(([p, n]) => {
          const { keys: pk, log } = this.parts.all[p]!;
          const counts = pk.runCounts(id);
          // Guarded: a taken run id (the home step below refuses it) keeps its shards.
          return log.append({ guards: [{ key: counts, field: "changes", equals: "" }], ops: [{ ...shard(n), key: counts }] });
        }),
      );
    }
    const res = await home.log.append({
      event: { type: "run_update", payload: { run } },
      team: run.team_id,
      guards: [{ key: keys.runMeta(id), field: "status", equals: "" }],
      ops: [
        { cmd: "HSET", key: keys.runs, args: [id, JSON.stringify(run)] },
        { cmd: "ZADD", key: keys.runsByTime, args: [run.created_at, id] },
        {
          cmd: "HSET",
          key: keys.runMeta(id),
          args: [
            ...["status", "running", "next", 0, "total", commands.length, "max_parallel", run.max_parallel ?? ""],
            ...["stop", run.stop_on_failure ? 1 : 0, "cancelled", "", "held_cancelled", "", "reported", 0, "last_update", now],
            // Where the count shards are (one partition: the run's own counts hash, no field).
            ...(single ? [] : ["shards", shards.join(",")]),
          ],
        },
        ...(single ? [{ ...shard(commands.length), key: keys.runCounts(id) }] : []),
        ...chunks(commands, BATCH).map((part): Op => ({ cmd: "RPUSH", key: keys.runCommands(id), args: part.map((c) => c.id) })),
        { cmd: "SADD", key: keys.runsDirty, args: [id] },
      ],
    });
    // The next run_update is at least 100 ms after this one by the events' own clock (see report).
    await this.markReported(id, res, false);
    return res.ok;
  }

  private async markReported(id: string, res: AppendResult, final: boolean): Promise<void> {
    const ts = res.ok && res.frame ? /"ts":(\d+)/.exec(res.frame)?.[1] : undefined;
    if (ts && !final) await this.redis.hset(this.home(id).keys.runMeta(id), "last_update", ts);
  }

  private recordHeld(command: Command) {
    const { keys, log } = this.partOf(command.id);
    const meta = keys.commandMeta(command.id);
    return log.append({
      event: { type: "command_queued", payload: { command } },
      guards: [{ key: meta, field: "v", equals: "" }],
      ops: [
        { cmd: "HSET", key: keys.commands, args: [command.id, JSON.stringify(command)] },
        // `hold`: not in the host's pending set, and the hub's claim refuses it, until released.
        { cmd: "HSET", key: meta, args: ["v", 1, "host", command.host_id, "status", "queued", "next_seq", 0, "hold", 1] },
        { cmd: "ZADD", key: keys.hostCommands(command.host_id), args: [command.created_at, command.id] },
      ],
    });
  }

  /**
   * The recorded run and its control state and counts; null if unknown. The home's meta and
   * shard are read as of one moment; other partitions' shards right after (each as of one moment):
   * the meta first, so that every un-hold a count includes was reserved before the `next` read,
   * and a release guarded on that `next` is decided on counts no older than the window it fills.
   */
  async state(id: string): Promise<{ base: Run; state: RunState } | null> {
    const home = this.home(id);
    const keys = home.keys;
    const res = (await this.redis.multi().hget(keys.runs, id).hgetall(keys.runMeta(id)).hgetall(keys.runCounts(id)).exec()) as Array<
      [Error | null, unknown]
    >;
    for (const [err] of res) if (err) throw err;
    const json = res[0]![1] as string | null;
    const meta = res[1]![1] as Record<string, string>;
    if (!json || !meta.status) return null;
    const shardIds = meta.shards ? meta.shards.split(",").map(Number) : [home.index];
    const others = shardIds.filter((p) => p !== home.index);
    const read = await Promise.all(others.map((p) => this.redis.hgetall(this.parts.all[p]!.keys.runCounts(id))));
    const shards = [
      { partition: home.index, c: res[2]![1] as Record<string, string> },
      ...others.map((p, i) => ({ partition: p, c: read[i]! })),
    ];
    const counts = zeroCounts();
    let active = 0;
    let failures = 0;
    let changes = 0;
    for (const { c } of shards) {
      for (const st of CommandStatusSchema.options) counts[st] += Number(c[st] ?? 0);
      active += Number(c.active ?? 0);
      failures += Number(c.failures ?? 0);
      changes += Number(c.changes ?? 0);
    }
    const reserved = meta.reserved ? meta.reserved.split(":").map(Number) : null;
    return {
      base: JSON.parse(json) as Run,
      state: {
        status: meta.status as RunState["status"],
        total: Number(meta.total),
        next: Number(meta.next),
        maxParallel: meta.max_parallel ? Number(meta.max_parallel) : undefined,
        stopOnFailure: meta.stop === "1",
        cancelled: meta.cancelled === "1",
        heldCancelled: meta.held_cancelled === "1",
        reported: Number(meta.reported),
        lastUpdateAt: Number(meta.last_update),
        counts,
        active,
        failures,
        changes,
        shards: shards.map(({ partition, c }) => ({ partition, changes: Number(c.changes ?? 0) })),
        reserved: reserved ? { from: reserved[0]!, to: reserved[1]! } : null,
      },
    };
  }

  /** The run with its live counts. */
  async get(id: string): Promise<Run | null> {
    const s = await this.state(id);
    return s ? runView(s.base, s.state) : null;
  }

  /**
   * Runs newest first that `visible` lets through, `limit` of them, created before run `before`
   * (exclusive) when given; null when `before` is not a run. Merged over the partitions.
   */
  async list(limit: number, before: string | undefined, visible: (run: Run) => boolean): Promise<Run[] | null> {
    const ids = await listRunIds(this.redis, this.parts.all, (id) => this.home(id), limit, before, visible);
    if (ids === null) return null;
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((r): r is Run => r !== null);
  }

  /** The recorded run (without live counts): what visibility is decided on. */
  async base(id: string): Promise<Run | null> {
    const json = await this.redis.hget(this.home(id).keys.runs, id);
    return json ? (JSON.parse(json) as Run) : null;
  }

  /** The run's command ids, in release order. */
  commandIds(id: string, from = 0, to = -1): Promise<string[]> {
    return this.redis.lrange(this.home(id).keys.runCommands(id), from, to);
  }

  /** The run's commands, in release order. */
  async commandsOf(id: string): Promise<Command[]> {
    const ids = await this.commandIds(id);
    const byId = new Map<string, Command>();
    for (const part of chunks(ids, 1000)) {
      await Promise.all(
        [...this.byPartition(part)].map(async ([p, pids]) => {
          const jsons = await this.redis.hmget(p.keys.commands, ...pids);
          jsons.forEach((j, i) => {
            if (j) byId.set(pids[i]!, JSON.parse(j) as Command);
          });
        }),
      );
    }
    return ids.flatMap((cid) => byId.get(cid) ?? []);
  }

  /**
   * Release up to `n` commands from `s.next` (see {@link RunReleases.release}). False: raced, retry.
   */
  release(id: string, s: RunState, n: number, now: number): Promise<boolean> {
    return this.releases.release(id, s, n, now);
  }

  /** The home step of a release across partitions alone (see {@link RunReleases.reserve}). */
  reserve(id: string, s: RunState, n: number): Promise<{ from: number; to: number } | null> {
    return this.releases.reserve(id, s, n);
  }

  /** Finish a reservation: its un-holds, then its clearing (see {@link RunReleases.completeReservation}). */
  completeReservation(id: string, range: { from: number; to: number }, now: number, s?: RunState): Promise<void> {
    return this.releases.completeReservation(id, range, now, s);
  }

  /** Append a `run_update` with the counts of `s` (once per `s.changes`); `final` ends the run. */
  async report(id: string, base: Run, s: RunState, now: number, final: boolean): Promise<boolean> {
    const { keys, log } = this.home(id);
    const meta = keys.runMeta(id);
    const status = final ? (s.cancelled ? "cancelled" : "finished") : "running";
    const run: Run = { ...runView(base, { ...s, status }), ...(final ? { finished_at: now } : {}) };
    const ops: Op[] = [
      { cmd: "HSET", key: meta, args: ["reported", s.changes, "last_update", now, "status", status] },
      { cmd: "HSET", key: keys.runs, args: [id, JSON.stringify(run)] },
    ];
    if (final) ops.push({ cmd: "SREM", key: keys.runsDirty, args: [id] });
    const res = await log.append({
      event: { type: "run_update", payload: { run } },
      team: base.team_id,
      guards: [
        { key: meta, field: "reported", equals: String(s.reported) },
        { key: meta, field: "status", equals: "running" },
      ],
      ops,
    });
    // The bound is between events' own timestamps (the log's clock, at append), so the next
    // report is measured from this event's `ts`, not from when this process decided to write it.
    await this.markReported(id, res, final);
    return res.ok;
  }

  /**
   * Nothing left to do for `s`: the run is no longer dirty, unless it changed since. Per
   * partition (each its own dirty set): a shard's partition is cleaned only if that shard did
   * not change since `s`, the home's also only if `next` and `reported` did not. `ended`: the
   * run is not running any more, so it is cleaned everywhere unguarded.
   */
  async clean(id: string, s: RunState, ended = false): Promise<void> {
    const home = this.home(id);
    const shards = s.shards ?? [{ partition: home.index, changes: s.changes }];
    await Promise.all(
      shards.map(({ partition, changes }) => {
        const { keys, log } = this.parts.all[partition]!;
        const meta = keys.runMeta(id);
        const guards: Guard[] = ended ? [] : [{ key: keys.runCounts(id), field: "changes", equals: String(changes) }];
        if (!ended && partition === home.index) {
          guards.push({ key: meta, field: "next", equals: String(s.next) }, { key: meta, field: "reported", equals: String(s.reported) });
          if (this.parts.count > 1) guards.push({ key: meta, field: "reserved", equals: "" });
        }
        return log.append({ guards, ops: [{ cmd: "SREM", key: keys.runsDirty, args: [id] }] });
      }),
    );
  }

  /** Mark the run cancelled (`run_cancelled`), once; false if it is not running or was cancelled already. */
  async requestCancel(id: string): Promise<boolean> {
    const { keys, log } = this.home(id);
    const meta = keys.runMeta(id);
    const res = await log.append({
      event: { type: "run_cancelled", payload: { run_id: id } },
      team: RUN_BOOKKEEPING_AUDIENCE,
      except: RUN_BOOKKEEPING_AUDIENCE,
      guards: [
        { key: meta, field: "status", equals: "running" },
        { key: meta, field: "cancelled", equals: "" },
      ],
      ops: [
        { cmd: "HSET", key: meta, args: ["cancelled", 1] },
        // A change of the run that browsers see (`cancel_requested`) and the sweep acts on (the home's shard).
        { cmd: "HINCRBY", key: keys.runCounts(id), args: ["changes", 1] },
        { cmd: "SADD", key: keys.runsDirty, args: [id] },
      ],
    });
    return res.ok;
  }

  /** A stopped run: every command of it still queued (held or waiting for its host) ends `cancelled`. */
  async cancelQueued(id: string, now: number, reason: string): Promise<void> {
    const ids = await this.commandIds(id);
    for (const part of chunks(ids, 200)) {
      const statuses = new Map<string, string | null>();
      await Promise.all(
        [...this.byPartition(part)].map(async ([p, pids]) => {
          const pipe = this.redis.multi();
          for (const cid of pids) pipe.hget(p.keys.commandMeta(cid), "status");
          ((await pipe.exec()) ?? []).forEach(([err, v], i) => {
            if (err) throw err;
            statuses.set(pids[i]!, v as string | null);
          });
        }),
      );
      const queued = part.filter((cid) => statuses.get(cid) === "queued");
      await Promise.all(
        queued.map((cid) => this.commands.finish(cid, { status: "cancelled", exitCode: null, now, fromStatuses: ["queued"], reason })),
      );
    }
    // Done once (a crash before this line only makes the next step do it again, idempotently).
    await this.redis.hset(this.home(id).keys.runMeta(id), "held_cancelled", 1);
  }

  /** Runs with a change not yet acted on: the union of every partition's dirty set. */
  async dirty(): Promise<string[]> {
    const sets = await Promise.all(this.parts.all.map((p) => this.redis.smembers(p.keys.runsDirty)));
    return [...new Set(sets.flat())];
  }
}
