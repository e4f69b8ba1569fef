import type { Redis } from "ioredis";
import { LoggedEventSchema, type Chunk, type Command, type Host, type LoggedEvent } from "@tether/protocol";
import { formatEventId } from "./browser-frame";
import type { Keys } from "./keys";
import { emptyRunsFold, evolveRuns, writeRuns, type RunsFold } from "./run-projection";

/** The projections the log determines (host secrets and connection epochs are not in it). */
export interface Projection {
  hosts: Map<string, Host>;
  commands: Map<string, Command>;
  outputs: Map<string, Chunk[]>;
  /** Runs (CONTRACT §6), folded from their events and their commands'. */
  runs: RunsFold;
}

export const emptyProjection = (): Projection => ({ hosts: new Map(), commands: new Map(), outputs: new Map(), runs: emptyRunsFold() });

/** Fold one event into the projection (pure but for mutating `state`, which it returns). */
export function evolve(state: Projection, event: LoggedEvent): Projection {
  evolveRuns(state.runs, event);
  switch (event.type) {
    case "host_update":
      state.hosts.set(event.payload.host.id, event.payload.host);
      break;
    case "host_removed":
      state.hosts.delete(event.payload.host_id);
      break;
    case "command_queued":
    case "command_started":
      state.commands.set(event.payload.command.id, event.payload.command);
      break;
    case "command_output": {
      const p = event.payload;
      const chunks = state.outputs.get(p.command_id) ?? [];
      if (p.seq === chunks.length) chunks.push({ seq: p.seq, stream: p.stream, data: p.data });
      state.outputs.set(p.command_id, chunks);
      break;
    }
    case "command_finished": {
      const p = event.payload;
      const cmd = state.commands.get(p.command_id);
      if (cmd) {
        state.commands.set(p.command_id, {
          ...cmd,
          status: p.status,
          exit_code: p.exit_code,
          finished_at: p.finished_at ?? event.ts,
          ...(p.reason ? { reason: p.reason } : {}),
        });
      }
      break;
    }
  }
  return state;
}

/** Read the whole log, oldest first, and fold it. */
export async function foldLog(redis: Redis, keys: Keys, pageSize = 1000): Promise<{ state: Projection; events: number }> {
  const state = emptyProjection();
  let start = "-";
  let events = 0;
  const epoch = (await redis.get(keys.logEpoch)) ?? "";
  for (;;) {
    const page = (await redis.xrange(keys.log, start, "+", "COUNT", pageSize)) as Array<[string, string[]]>;
    for (const [sid, fields] of page) {
      const type = fields[fields.indexOf("t") + 1];
      const payload = JSON.parse(fields[fields.indexOf("p") + 1] ?? "null") as unknown;
      const event = LoggedEventSchema.parse({ id: formatEventId(sid, epoch), ts: Number(sid.split("-")[0]), type, payload });
      evolve(state, event);
      events++;
    }
    const last = page.at(-1);
    if (page.length < pageSize || !last) break;
    start = `(${last[0]}`;
  }
  return { state, events };
}

/** Was anything ever trimmed from this log? Then a fold cannot see the oldest facts. */
export async function logIsComplete(redis: Redis, keys: Keys): Promise<boolean> {
  const info = (await redis.call("XINFO", "STREAM", keys.log).catch(() => null)) as unknown[] | null;
  if (!info) return true;
  const field = (name: string) => info[info.indexOf(name) + 1];
  return Number(field("entries-added")) === Number(field("length"));
}

/**
 * Replace the host and command projections with `state`, atomically (MULTI). Host secrets and
 * epochs (`hostMeta`) stay; each command's private state (owner, status, next seq) is derived.
 */
export async function writeProjection(redis: Redis, keys: Keys, state: Projection): Promise<void> {
  const oldCommandIds = await redis.hkeys(keys.commands);
  const oldHostIds = await redis.hkeys(keys.hosts);
  const oldRunIds = await redis.hkeys(keys.runs);
  const tx = redis.multi();
  tx.del(keys.hosts, keys.commands, keys.hostTeams);
  for (const id of new Set([...oldCommandIds, ...state.commands.keys()])) tx.del(keys.commandOutput(id), keys.commandMeta(id));
  for (const id of new Set([...oldHostIds, ...state.hosts.keys()])) tx.del(keys.hostCommands(id), keys.hostPending(id));
  for (const [id, host] of state.hosts) {
    tx.hset(keys.hosts, id, JSON.stringify(host));
    // The append scripts address each host's events by this hash (hosts from before teams: none).
    if (host.team_id) tx.hset(keys.hostTeams, id, host.team_id);
  }
  for (const [id, cmd] of state.commands) {
    const chunks = state.outputs.get(id) ?? [];
    tx.hset(keys.commands, id, JSON.stringify(cmd));
    tx.hset(keys.commandMeta(id), "v", 1, "host", cmd.host_id, "status", cmd.status, "next_seq", chunks.length);
    if (chunks.length) tx.rpush(keys.commandOutput(id), ...chunks.map((c) => JSON.stringify(c)));
    tx.zadd(keys.hostCommands(cmd.host_id), cmd.created_at, id);
    if (cmd.status === "queued" || cmd.status === "running") tx.zadd(keys.hostPending(cmd.host_id), cmd.created_at, id);
  }
  writeRuns(tx, keys, state.runs.runs, state.commands, oldRunIds);
  await tx.exec();
}
