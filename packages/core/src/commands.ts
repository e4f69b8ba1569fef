import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { FINAL_COMMAND_STATUSES, type Chunk, type Command, type CommandStatus, type OutputFrame } from "@tether/protocol";
import type { Op } from "./event-log";
import type { Partition, PartitionSet } from "./partition-set";
import { commandIdFor, partitionOf } from "./partitions";
import { casUpdate, type Change } from "./projection";
import { runTransitionOps } from "./run-counts";

/** Outcome of storing one output frame. */
export type OutputResult = "stored" | "duplicate" | "gap" | "unknown_command" | "not_running" | "truncated" | "dropped";

const OUTPUT_RESULTS: Record<string, OutputResult> = {
  s: "stored",
  d: "duplicate",
  g: "gap",
  u: "unknown_command",
  n: "not_running",
  /** This frame crossed MAX_OUTPUT_BYTES_PER_COMMAND: a marker was stored in its place. */
  T: "truncated",
  /** The command's output was cut already: not stored. */
  t: "dropped",
};

/** Outcome of a finish or cancel. */
export type FinishResult = "finished" | "already_final" | "unknown_command";

let lastScore = 0;
/** Dispatch order within this process, even for several dispatches in one millisecond. */
function dispatchScore(now: number): number {
  lastScore = Math.max(now, lastScore + 0.001);
  return lastScore;
}

/**
 * A new command id for a host: with more than one partition it names the host's (commandIdFor),
 * so every later step finds the command's records without a lookup; with one, a plain random UUID.
 */
export function newCommandId(hostId: string, partitions: number): string {
  return partitions === 1 ? randomUUID() : commandIdFor(partitionOf(hostId, partitions));
}

/** A new command, as the dispatcher returns it (status `queued`). */
export function newCommand(input: {
  hostId: string;
  command: string;
  args?: string[];
  timeoutMs?: number;
  now: number;
  /** `LOG_PARTITIONS` (default 1). */
  partitions?: number;
}): Command {
  return {
    id: newCommandId(input.hostId, input.partitions ?? 1),
    host_id: input.hostId,
    command: input.command,
    args: input.args ?? [],
    status: "queued",
    created_at: input.now,
    exit_code: null,
    ...(input.timeoutMs !== undefined ? { timeout_ms: input.timeoutMs } : {}),
  };
}

/** Commands: the projection (`commands` hash, per-command meta and output) and its writers. */
export class CommandStore {
  /** Called after a command of a run changed status (set by createStores: the run engine's kick). */
  onRunChange: ((runId: string) => void) | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly parts: PartitionSet,
    /** A finished command's output list and meta expire this long after it finished (ms); default never. */
    private readonly outputMaxAgeMs?: number,
  ) {}

  /** How many partitions commands are spread over (`LOG_PARTITIONS`). */
  get partitions(): number {
    return this.parts.count;
  }

  /** The partition of a command that must be this deployment's (one it minted): a bug otherwise. */
  private home(command: Pick<Command, "id" | "host_id">): Partition {
    const p = this.parts.ofCommand(command.id);
    if (!p || p !== this.parts.ofHost(command.host_id)) throw new Error(`command ${command.id} does not name its host's partition`);
    return p;
  }

  async get(id: string): Promise<Command | null> {
    const p = this.parts.ofCommand(id);
    const json = p ? await this.redis.hget(p.keys.commands, id) : null;
    return json ? parseCommand(json) : null;
  }

  /** Every output chunk so far, in seq order. */
  async output(id: string): Promise<Chunk[]> {
    const p = this.parts.ofCommand(id);
    const list = p ? await this.redis.lrange(p.keys.commandOutput(id), 0, -1) : [];
    return list.map((c) => JSON.parse(c) as Chunk);
  }

  /** The host's commands, newest first. */
  async history(hostId: string, limit = 100): Promise<Command[]> {
    const { keys } = this.parts.ofHost(hostId);
    const ids = await this.redis.zrevrange(keys.hostCommands(hostId), "0", String(limit - 1));
    if (!ids.length) return [];
    const jsons = await this.redis.hmget(keys.commands, ...ids);
    return jsons.filter((j): j is string => j !== null).map(parseCommand);
  }

  /** Commands of a host not yet final, in dispatch order. */
  async unfinished(hostId: string): Promise<Command[]> {
    const { keys } = this.parts.ofHost(hostId);
    const ids = await this.redis.zrange(keys.hostPending(hostId), "0", "-1");
    if (!ids.length) return [];
    const jsons = await this.redis.hmget(keys.commands, ...ids);
    return jsons.filter((j): j is string => j !== null).map(parseCommand);
  }

  /**
   * Record a dispatched command (`command_queued`); idempotent, so a retried job is harmless.
   * `alsoOps` run in the same step, only if this call recorded it. False: it was recorded before.
   */
  async queue(command: Command, alsoOps: Op[] = []): Promise<boolean> {
    const { keys, log } = this.home(command);
    const meta = keys.commandMeta(command.id);
    const res = await log.append({
      event: { type: "command_queued", payload: { command } },
      guards: [{ key: meta, field: "v", equals: "" }],
      ops: [
        { cmd: "HSET", key: keys.commands, args: [command.id, JSON.stringify(command)] },
        { cmd: "HSET", key: meta, args: ["v", 1, "host", command.host_id, "status", "queued", "next_seq", 0] },
        { cmd: "ZADD", key: keys.hostCommands(command.host_id), args: [command.created_at, command.id] },
        { cmd: "ZADD", key: keys.hostPending(command.host_id), args: [dispatchScore(command.created_at), command.id] },
        ...alsoOps,
      ],
    });
    return res.ok;
  }

  /**
   * queued → running (`command_started`), only for the host that owns it; null if it is not
   * queued (any more). One round trip: while a command is queued its stored record is the one
   * it was queued with, so `queued` (from the deliver message or a read) is the record to advance,
   * and guards on its status and host stand in for the version check.
   */
  async claim(queued: Command, hostId: string, now: number): Promise<Command | null> {
    const p = this.parts.ofCommand(queued.id);
    if (!p || p !== this.parts.ofHost(hostId)) return null;
    const { keys, log } = p;
    const meta = keys.commandMeta(queued.id);
    const next: Command = { ...queued, status: "running", started_at: now };
    const runId = queued.run_id;
    const res = await log.append({
      event: { type: "command_started", payload: { command: next } },
      guards: [
        { key: meta, field: "status", equals: "queued" },
        { key: meta, field: "host", equals: hostId },
        // A command its run still holds back (max_parallel) is not for the taking yet.
        ...(runId ? [{ key: meta, field: "hold", equals: "" }] : []),
      ],
      ops: [
        { cmd: "HINCRBY", key: meta, args: ["v", 1] },
        { cmd: "HSET", key: meta, args: ["status", "running"] },
        { cmd: "HSET", key: keys.commands, args: [queued.id, JSON.stringify(next)] },
        ...(runId ? runTransitionOps(keys, runId, "queued", "running", true) : []),
      ],
    });
    if (res.ok && runId) this.onRunChange?.(runId);
    return res.ok ? next : null;
  }

  /**
   * Move a command to a final status (`command_finished`). With `fromStatuses`, only from those;
   * with `hostId`, only for the host that owns it.
   */
  async finish(
    id: string,
    opts: { status: CommandStatus; exitCode: number | null; now: number; hostId?: string; fromStatuses?: CommandStatus[]; reason?: string },
  ): Promise<FinishResult> {
    let outcome: FinishResult = "unknown_command";
    let runId: string | undefined;
    const p = this.parts.ofCommand(id);
    if (!p) return outcome;
    const { keys } = p;
    await this.update(p, id, (cmd, meta) => {
      if (opts.hostId !== undefined && meta.host !== opts.hostId) return null;
      const status = meta.status as CommandStatus;
      if (FINAL_COMMAND_STATUSES.has(status) || (opts.fromStatuses && !opts.fromStatuses.includes(status))) {
        outcome = "already_final";
        return null;
      }
      outcome = "finished";
      runId = cmd.run_id;
      const next: Command = {
        ...cmd,
        status: opts.status,
        exit_code: opts.exitCode,
        finished_at: opts.now,
        ...(opts.reason ? { reason: opts.reason } : {}),
      };
      return {
        value: next,
        meta: { status: opts.status },
        event: {
          type: "command_finished",
          payload: {
            command_id: id,
            host_id: cmd.host_id,
            exit_code: opts.exitCode,
            status: opts.status,
            finished_at: opts.now,
            ...(opts.reason ? { reason: opts.reason } : {}),
          },
        },
        extraOps: [
          { cmd: "ZREM", key: keys.hostPending(cmd.host_id), args: [id] },
          // Bounded in time too: nothing is written to either once the command is final.
          ...(this.outputMaxAgeMs !== undefined
            ? (["commandOutput", "commandMeta"] as const).map((k): Op => ({
                cmd: "PEXPIRE",
                key: keys[k](id),
                args: [this.outputMaxAgeMs!],
              }))
            : []),
          ...(cmd.run_id ? runTransitionOps(keys, cmd.run_id, status, opts.status, meta.hold !== "1") : []),
        ],
      };
    });
    // `outcome` and `runId` were set inside the callback, which TS cannot see.
    if ((outcome as FinishResult) === "finished" && runId) this.onRunChange?.(runId);
    return outcome;
  }

  /**
   * Store a run of one host's output frames and publish them, in one round trip. Each frame is
   * checked in Redis (owner, next seq, running), so frames can be sent without awaiting one
   * another; the results come back in order.
   */
  async appendOutputs(hostId: string, frames: Array<OutputFrame["payload"]>): Promise<OutputResult[]> {
    const p = this.parts.ofHost(hostId);
    // A frame naming a command of another partition cannot be this host's: answered unknown here,
    // never sent (on a Redis Cluster its keys are in another slot).
    const ours = this.parts.count === 1 ? frames : frames.filter((f) => this.parts.ofCommand(f.command_id) === p);
    const res = ours.length
      ? await p.log.appendOutputs(
          hostId,
          ours.map((f) => ({
            commandId: f.command_id,
            seq: f.seq,
            stream: f.stream,
            dataJson: JSON.stringify(f.data),
          })),
        )
      : "";
    const results = [...res].map((letter) => OUTPUT_RESULTS[letter] ?? "unknown_command");
    if (ours === frames) return results;
    let next = 0;
    return frames.map((f) => (this.parts.ofCommand(f.command_id) === p ? results[next++]! : "unknown_command"));
  }

  private async update(
    p: Partition,
    id: string,
    mutate: (cmd: Command, meta: Record<string, string>) => Change<Command> | null,
  ): Promise<Command | null> {
    const res = await casUpdate<Command>({
      log: p.log,
      hash: p.keys.commands,
      id,
      metaKey: p.keys.commandMeta(id),
      parse: parseCommand,
      mutate,
    });
    return res?.value ?? null;
  }
}

/** Command JSON from our own projection: trusted, like hosts (see parseHost). */
function parseCommand(json: string): Command {
  return JSON.parse(json) as Command;
}
