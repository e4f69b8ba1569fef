import type { Redis } from "ioredis";
import { CommandStatusSchema, type Command, type Run } from "@tether/protocol";
import type { HostChannelMessage } from "./bus";
import type { CommandStore } from "./commands";
import type { AppendResult, EventLog, Guard, Op } from "./event-log";
import type { Keys } from "./keys";
import { RUN_BOOKKEEPING_AUDIENCE, chunks, runView, zeroCounts } from "./run-counts";
import type { RunState } from "./run-plan";

/** Most commands released, or recorded, in one Redis call: keeps each script short for everyone else. */
const BATCH = 500;

/**
 * Runs (CONTRACT §6): the projection (`runs` hash, per-run meta, counts and command list) and
 * its writers. Every write goes through the event log's atomic append, guarded, so that two
 * processes stepping the same run, or one retrying after another died, never release a command
 * twice nor report a count twice.
 */
export class RunStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: EventLog,
    private readonly commands: CommandStore,
    private readonly nodeId: string,
  ) {}

  /**
   * Record a run's commands (`command_queued`, each with `run_id`, all held back: none is
   * delivered until a step releases it), then the run itself (its first `run_update`). In that
   * order: a process that dies in between leaves held commands no run knows (they expire with
   * their TTL, never run) and no half-made run. False if the run id was taken.
   */
  async create(run: Run, commands: Command[], now: number): Promise<boolean> {
    const id = run.id;
    // Sent together on one connection, so Redis records them in this order: the run's order.
    for (const part of chunks(commands, BATCH)) await Promise.all(part.map((c) => this.recordHeld(c)));
    const counts = zeroCounts();
    counts.queued = commands.length;
    const res = await this.log.append({
      event: { type: "run_update", payload: { run } },
      team: run.team_id,
      guards: [{ key: this.keys.runMeta(id), field: "status", equals: "" }],
      ops: [
        { cmd: "HSET", key: this.keys.runs, args: [id, JSON.stringify(run)] },
        { cmd: "ZADD", key: this.keys.runsByTime, args: [run.created_at, id] },
        {
          cmd: "HSET",
          key: this.keys.runMeta(id),
          args: [
            ...["status", "running", "next", 0, "total", commands.length, "max_parallel", run.max_parallel ?? ""],
            ...["stop", run.stop_on_failure ? 1 : 0, "cancelled", "", "held_cancelled", "", "reported", 0, "last_update", now],
          ],
        },
        { cmd: "HSET", key: this.keys.runCounts(id), args: [...Object.entries(counts).flat(), "active", 0, "failures", 0, "changes", 0] },
        ...chunks(commands, BATCH).map((part): Op => ({ cmd: "RPUSH", key: this.keys.runCommands(id), args: part.map((c) => c.id) })),
        { cmd: "SADD", key: this.keys.runsDirty, args: [id] },
      ],
    });
    // The next run_update is at least 100 ms after this one by the events' own clock (see report).
    await this.markReported(id, res, false);
    return res.ok;
  }

  private async markReported(id: string, res: AppendResult, final: boolean): Promise<void> {
    const ts = res.ok && res.frame ? /"ts":(\d+)/.exec(res.frame)?.[1] : undefined;
    if (ts && !final) await this.redis.hset(this.keys.runMeta(id), "last_update", ts);
  }

  private recordHeld(command: Command) {
    const meta = this.keys.commandMeta(command.id);
    return this.log.append({
      event: { type: "command_queued", payload: { command } },
      guards: [{ key: meta, field: "v", equals: "" }],
      ops: [
        { cmd: "HSET", key: this.keys.commands, args: [command.id, JSON.stringify(command)] },
        // `hold`: not in the host's pending set, and the hub's claim refuses it, until released.
        { cmd: "HSET", key: meta, args: ["v", 1, "host", command.host_id, "status", "queued", "next_seq", 0, "hold", 1] },
        { cmd: "ZADD", key: this.keys.hostCommands(command.host_id), args: [command.created_at, command.id] },
      ],
    });
  }

  /** The recorded run and its control state and counts, as of one moment; null if unknown. */
  async state(id: string): Promise<{ base: Run; state: RunState } | null> {
    const res = (await this.redis
      .multi()
      .hget(this.keys.runs, id)
      .hgetall(this.keys.runMeta(id))
      .hgetall(this.keys.runCounts(id))
      .exec()) as Array<[Error | null, unknown]>;
    for (const [err] of res) if (err) throw err;
    const json = res[0]![1] as string | null;
    const meta = res[1]![1] as Record<string, string>;
    const c = res[2]![1] as Record<string, string>;
    if (!json || !meta.status) return null;
    const counts = zeroCounts();
    for (const s of CommandStatusSchema.options) counts[s] = Number(c[s] ?? 0);
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
        active: Number(c.active ?? 0),
        failures: Number(c.failures ?? 0),
        changes: Number(c.changes ?? 0),
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
   * (exclusive) when given; null when `before` is not a run.
   */
  async list(limit: number, before: string | undefined, visible: (run: Run) => boolean): Promise<Run[] | null> {
    let start = 0;
    if (before !== undefined) {
      const rank = await this.redis.zrevrank(this.keys.runsByTime, before);
      if (rank === null) return null;
      start = rank + 1;
    }
    const out: Run[] = [];
    const page = Math.max(limit, 100);
    for (;;) {
      const ids = await this.redis.zrevrange(this.keys.runsByTime, start, start + page - 1);
      if (!ids.length) return out;
      const jsons = await this.redis.hmget(this.keys.runs, ...ids);
      const seen = ids.filter((_id, i) => {
        const json = jsons[i];
        return json ? visible(JSON.parse(json) as Run) : false;
      });
      for (const run of await Promise.all(seen.map((id) => this.get(id)))) {
        if (run) out.push(run);
        if (out.length >= limit) return out;
      }
      if (ids.length < page) return out;
      start += page;
    }
  }

  /** The recorded run (without live counts): what visibility is decided on. */
  async base(id: string): Promise<Run | null> {
    const json = await this.redis.hget(this.keys.runs, id);
    return json ? (JSON.parse(json) as Run) : null;
  }

  /** The run's command ids, in release order. */
  commandIds(id: string, from = 0, to = -1): Promise<string[]> {
    return this.redis.lrange(this.keys.runCommands(id), from, to);
  }

  /** The run's commands, in release order. */
  async commandsOf(id: string): Promise<Command[]> {
    const ids = await this.commandIds(id);
    const out: Command[] = [];
    for (const part of chunks(ids, 1000)) {
      const jsons = await this.redis.hmget(this.keys.commands, ...part);
      for (const j of jsons) if (j) out.push(JSON.parse(j) as Command);
    }
    return out;
  }

  /**
   * Release up to `n` commands from `s.next`: each still queued and held is added to its host's
   * pending set and announced on its channel (the hub holding the agent claims it), in one
   * atomic step guarded on `next` (no other step released meanwhile), on no cancel or failure
   * since `s` was read, and on each command still being queued and held. False: retry.
   */
  async release(id: string, s: RunState, n: number, now: number): Promise<boolean> {
    const to = Math.min(s.total, s.next + Math.min(n, BATCH));
    const ids = await this.commandIds(id, s.next, to - 1);
    const pipe = this.redis.pipeline();
    for (const cid of ids) pipe.hmget(this.keys.commandMeta(cid), "status", "hold");
    if (ids.length) pipe.hmget(this.keys.commands, ...ids);
    const res = (await pipe.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    const jsons = (ids.length ? res.at(-1)![1] : []) as Array<string | null>;
    const meta = this.keys.runMeta(id);
    const guards: Guard[] = [
      { key: meta, field: "next", equals: String(s.next) },
      { key: meta, field: "cancelled", equals: "" },
    ];
    if (s.stopOnFailure) guards.push({ key: this.keys.runCounts(id), field: "failures", equals: "0" });
    const ops: Op[] = [{ cmd: "HSET", key: meta, args: ["next", to] }];
    let released = 0;
    ids.forEach((cid, i) => {
      const [status, hold] = res[i]![1] as [string | null, string | null];
      const json = jsons[i];
      // Final already (expired or cancelled while held): it only moves `next` on.
      if (status !== "queued" || hold !== "1" || !json) return;
      const command = JSON.parse(json) as Command;
      const cmeta = this.keys.commandMeta(cid);
      guards.push({ key: cmeta, field: "status", equals: "queued" }, { key: cmeta, field: "hold", equals: "1" });
      const deliver: HostChannelMessage = { kind: "deliver", node: this.nodeId, command };
      ops.push(
        // The version moves too: a finish that read the command while held (a cancel, its TTL)
        // must read it again, or it would count it out of a window it was never in.
        { cmd: "HINCRBY", key: cmeta, args: ["v", 1] },
        { cmd: "HDEL", key: cmeta, args: ["hold"] },
        { cmd: "ZADD", key: this.keys.hostPending(command.host_id), args: [now + i / 1000, cid] },
        { cmd: "PUBLISH", key: this.keys.hostChannel(command.host_id), args: [JSON.stringify(deliver)] },
      );
      released++;
    });
    if (released) ops.push({ cmd: "HINCRBY", key: this.keys.runCounts(id), args: ["active", released] });
    const out = await this.log.append({
      event: { type: "run_released", payload: { run_id: id, next: to } },
      team: RUN_BOOKKEEPING_AUDIENCE,
      except: RUN_BOOKKEEPING_AUDIENCE,
      guards,
      ops,
    });
    return out.ok;
  }

  /** Append a `run_update` with the counts of `s` (once per `s.changes`); `final` ends the run. */
  async report(id: string, base: Run, s: RunState, now: number, final: boolean): Promise<boolean> {
    const meta = this.keys.runMeta(id);
    const status = final ? (s.cancelled ? "cancelled" : "finished") : "running";
    const run: Run = { ...runView(base, { ...s, status }), ...(final ? { finished_at: now } : {}) };
    const ops: Op[] = [
      { cmd: "HSET", key: meta, args: ["reported", s.changes, "last_update", now, "status", status] },
      { cmd: "HSET", key: this.keys.runs, args: [id, JSON.stringify(run)] },
    ];
    if (final) ops.push({ cmd: "SREM", key: this.keys.runsDirty, args: [id] });
    const res = await this.log.append({
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

  /** Nothing left to do for `s`: the run is no longer dirty, unless it changed since. */
  async clean(id: string, s: RunState | null): Promise<void> {
    const meta = this.keys.runMeta(id);
    const guards: Guard[] = s
      ? [
          { key: this.keys.runCounts(id), field: "changes", equals: String(s.changes) },
          { key: meta, field: "next", equals: String(s.next) },
          { key: meta, field: "reported", equals: String(s.reported) },
        ]
      : [];
    await this.log.append({ guards, ops: [{ cmd: "SREM", key: this.keys.runsDirty, args: [id] }] });
  }

  /** Mark the run cancelled (`run_cancelled`), once; false if it is not running or was cancelled already. */
  async requestCancel(id: string): Promise<boolean> {
    const meta = this.keys.runMeta(id);
    const res = await this.log.append({
      event: { type: "run_cancelled", payload: { run_id: id } },
      team: RUN_BOOKKEEPING_AUDIENCE,
      except: RUN_BOOKKEEPING_AUDIENCE,
      guards: [
        { key: meta, field: "status", equals: "running" },
        { key: meta, field: "cancelled", equals: "" },
      ],
      ops: [
        { cmd: "HSET", key: meta, args: ["cancelled", 1] },
        // A change of the run that browsers see (`cancel_requested`) and the sweep acts on.
        { cmd: "HINCRBY", key: this.keys.runCounts(id), args: ["changes", 1] },
        { cmd: "SADD", key: this.keys.runsDirty, args: [id] },
      ],
    });
    return res.ok;
  }

  /** A stopped run: every command of it still queued (held or waiting for its host) ends `cancelled`. */
  async cancelQueued(id: string, now: number, reason: string): Promise<void> {
    const ids = await this.commandIds(id);
    for (const part of chunks(ids, 200)) {
      const pipe = this.redis.pipeline();
      for (const cid of part) pipe.hget(this.keys.commandMeta(cid), "status");
      const statuses = ((await pipe.exec()) ?? []).map(([err, v]) => {
        if (err) throw err;
        return v as string | null;
      });
      const queued = part.filter((_cid, i) => statuses[i] === "queued");
      await Promise.all(
        queued.map((cid) => this.commands.finish(cid, { status: "cancelled", exitCode: null, now, fromStatuses: ["queued"], reason })),
      );
    }
    // Done once (a crash before this line only makes the next step do it again, idempotently).
    await this.redis.hset(this.keys.runMeta(id), "held_cancelled", 1);
  }

  /** Runs with a change not yet acted on. */
  dirty(): Promise<string[]> {
    return this.redis.smembers(this.keys.runsDirty);
  }
}
