import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { DEFAULT_TEAM, type FleetEvent } from "@tether/protocol";
import { LUA_ENVELOPE, formatEnvelope } from "./envelope";
import type { Keys } from "./keys";
import { APPEND_OUTPUTS_LUA } from "./output-script";

/**
 * Append + publish + projection writes in one atomic step (DESIGN "Event sourcing on Redis").
 *
 * Guards are checked first (HGET key field == expected, '' meaning absent); if one fails, nothing
 * is written and the script returns {0, guardIndex, actual}. Then the ops run, then (when an event
 * is given) XADD to the log and PUBLISH of the browser frame with the new id. The frame string is
 * built here, once, so every hub relays it verbatim.
 *
 * The event is addressed to its host's team (CONTRACT §4): ARGV[7] when given, else the host's
 * entry in the host-teams hash as it was BEFORE the ops (a host's removal goes to the team it was
 * in), else `default`. The team is stored with the event (field g, and x for `except`) and leads
 * the published message (see envelope.ts), so hubs and readers filter without parsing the JSON.
 *
 * A second event may follow in the same step (`then`: a host moving team is its `host_update`
 * to the new team and a `host_removed` for those who lose sight of it, never one without the other).
 *
 * KEYS: log, epoch, host-teams, then the guards' and ops' keys. ARGV: channel, type, payload,
 * maxlen, epoch candidate, host id, team override, except, then the guards and ops, then 0 or 1
 * and the follow-up's type, payload, team and except.
 */
const APPEND_LUA = `${LUA_ENVELOPE}
local a = 9
local ng = tonumber(ARGV[a]); a = a + 1
for i = 1, ng do
  local k = KEYS[tonumber(ARGV[a])]; local f = ARGV[a + 1]; local e = ARGV[a + 2]; a = a + 3
  local v = redis.call('HGET', k, f)
  if v == false then v = '' end
  if v ~= e then return {0, i, v} end
end
local team = ARGV[7]
if ARGV[2] ~= '' and team == '' then
  team = redis.call('HGET', KEYS[3], ARGV[6])
  if not team then team = '${DEFAULT_TEAM}' end
end
local no = tonumber(ARGV[a]); a = a + 1
for i = 1, no do
  local name = ARGV[a]; local k = KEYS[tonumber(ARGV[a + 1])]; local n = tonumber(ARGV[a + 2]); a = a + 3
  local args = {}
  for j = 1, n do args[j] = ARGV[a + j - 1] end
  a = a + n
  redis.call(name, k, unpack(args))
end
if ARGV[2] == '' then return {1, ''} end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[5])
  epoch = ARGV[5]
end
local function emit(type, payload, to, except)
  local sid
  if except ~= '' then
    sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 't', type, 'p', payload, 'g', to, 'x', except)
  else
    sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 't', type, 'p', payload, 'g', to)
  end
  local dash = string.find(sid, '-', 1, true)
  local ms = string.sub(sid, 1, dash - 1)
  local sq = string.sub(sid, dash + 1)
  local id = string.rep('0', 13 - #ms) .. ms .. '-' .. string.rep('0', 8 - #sq) .. sq .. '-' .. epoch
  local frame = '{"type":"' .. type .. '","id":"' .. id .. '","ts":' .. ms .. ',"payload":' .. payload .. '}'
  if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], envelope(to, except) .. frame) end
  return frame
end
local frame = emit(ARGV[2], ARGV[3], team, ARGV[8])
if tonumber(ARGV[a]) == 1 then emit(ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]) end
return {1, frame}
`;

/** A projected record and its meta hash, read together (one script, so one consistent state). */
const READ_RECORD_LUA = `
return { redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HGETALL', KEYS[2]) }
`;

/** The one `stderr` line stored (and relayed) in place of a command's output past the bound. */
export function truncatedMarker(maxBytes: number): string {
  return `[tether: output past MAX_OUTPUT_BYTES_PER_COMMAND (${maxBytes} bytes) was not stored; the command runs on]\n`;
}

/** One output frame for {@link EventLog.appendOutputs}. */
export interface OutputAppend {
  commandId: string;
  seq: number;
  stream: "stdout" | "stderr";
  /** `JSON.stringify(data)`: the one encoding of the frame's text, spliced into chunk and event. */
  dataJson: string;
}

/** A precondition: `HGET key field` must equal `equals` ('' = the field is absent). */
export interface Guard {
  key: string;
  field: string;
  equals: string;
}

/** A projection write run in the same atomic step. */
export interface Op {
  /** `PUBLISH` takes the channel as its key (a plain Redis, not a cluster). */
  cmd: "HSET" | "HDEL" | "HINCRBY" | "DEL" | "RPUSH" | "ZADD" | "ZREM" | "SADD" | "SREM" | "PEXPIRE" | "PUBLISH";
  key: string;
  args: Array<string | number>;
}

export type AppendResult = { ok: true; frame: string | null } | { ok: false; failedGuard: number; actual: string };

/** The id that stands for "before the first event". */
export const ORIGIN_ID = "0";

const EXT_ID = /^(\d{13})-(\d{8})-([A-Za-z0-9]{1,32})$/;

/** External event id ↔ stream id. External ids sort as strings within one epoch. */
export function parseEventId(id: string): { streamId: string; epoch: string } | null {
  const m = EXT_ID.exec(id);
  if (!m) return null;
  return { streamId: `${Number(m[1])}-${Number(m[2])}`, epoch: m[3]! };
}

export function formatEventId(streamId: string, epoch: string): string {
  const [ms = "0", seq = "0"] = streamId.split("-");
  return `${ms.padStart(13, "0")}-${seq.padStart(8, "0")}-${epoch}`;
}

/** The browser frame for a logged event; byte-identical to what the append script publishes. */
export function formatEventFrame(streamId: string, epoch: string, type: string, payloadJson: string): string {
  const ms = streamId.slice(0, streamId.indexOf("-"));
  return `{"type":"${type}","id":"${formatEventId(streamId, epoch)}","ts":${ms},"payload":${payloadJson}}`;
}

type RedisWithAppend = Redis & {
  tetherAppend(numKeys: number, ...args: Array<string | number>): Promise<[number, string | number, string?]>;
  tetherAppendOutputs(numKeys: number, ...args: Array<string | number>): Promise<string>;
  tetherReadRecord(numKeys: number, ...args: string[]): Promise<[string | null, string[]]>;
};

export interface EventLogOptions {
  redis: Redis;
  keys: Keys;
  /** Approximate most events the log keeps. */
  maxLen: number;
  /** Most output bytes (JSON-encoded chunk text) one command stores; default: no bound. */
  maxOutputBytes?: number;
  /** Called with each append's duration in seconds (for the latency histogram). */
  observe?: (seconds: number) => void;
}

/** The event log: the only writer of events, and the reader for history and resume. */
export class EventLog {
  private readonly redis: RedisWithAppend;
  private readonly keys: Keys;
  private readonly maxLen: number;
  private readonly maxOutputBytes: number;
  private readonly truncatedMarkerJson: string;
  private readonly observe: ((seconds: number) => void) | undefined;
  /** Used only if the log has no epoch yet (new, or Redis lost it). */
  private readonly epochCandidate = randomBytes(4).toString("hex");

  constructor(opts: EventLogOptions) {
    this.redis = opts.redis as RedisWithAppend;
    this.keys = opts.keys;
    this.maxLen = opts.maxLen;
    this.maxOutputBytes = opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER;
    this.truncatedMarkerJson = JSON.stringify(truncatedMarker(this.maxOutputBytes));
    this.observe = opts.observe;
    if (typeof this.redis.tetherAppend !== "function") {
      opts.redis.defineCommand("tetherAppend", { lua: APPEND_LUA });
      opts.redis.defineCommand("tetherAppendOutputs", { lua: APPEND_OUTPUTS_LUA });
      opts.redis.defineCommand("tetherReadRecord", { lua: READ_RECORD_LUA });
    }
  }

  /**
   * Atomically check guards, apply ops, and (if `event` is given) append and publish it.
   * Returns the published frame (with its id), or which guard failed.
   */
  async append(input: {
    event?: FleetEvent;
    guards?: Guard[];
    ops?: Op[];
    /** Address the event to this team and not its host's current one (a host changing team). */
    team?: string;
    /** Not to audiences that also see this team (see envelope.ts). */
    except?: string;
    /** A second event in the same atomic step, after `event` (which it requires), to `team` but not `except`. */
    then?: { event: FleetEvent; team: string; except?: string };
  }): Promise<AppendResult> {
    if (input.then && !input.event) throw new Error("append: `then` needs an `event` before it");
    const keyList = [this.keys.log, this.keys.logEpoch, this.keys.hostTeams];
    const keyIndex = new Map<string, number>();
    const idx = (key: string) => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        keyList.push(key);
        i = keyList.length;
        keyIndex.set(key, i);
      }
      return i;
    };
    const argv: Array<string | number> = [
      input.event ? this.keys.eventsChannel : "",
      input.event ? input.event.type : "",
      input.event ? JSON.stringify(input.event.payload) : "",
      this.maxLen,
      this.epochCandidate,
      input.event ? eventHostId(input.event) : "",
      input.team ?? "",
      input.except ?? "",
    ];
    const guards = input.guards ?? [];
    argv.push(guards.length);
    for (const g of guards) argv.push(idx(g.key), g.field, g.equals);
    const ops = input.ops ?? [];
    argv.push(ops.length);
    for (const op of ops) argv.push(op.cmd, idx(op.key), op.args.length, ...op.args);
    if (input.then) argv.push(1, input.then.event.type, JSON.stringify(input.then.event.payload), input.then.team, input.then.except ?? "");
    else argv.push(0);
    const started = this.observe ? performance.now() : 0;
    const res = await this.redis.tetherAppend(keyList.length, ...keyList, ...argv);
    if (this.observe) this.observe((performance.now() - started) / 1000);
    if (res[0] === 1) return { ok: true, frame: (res[1] as string) || null };
    return { ok: false, failedGuard: Number(res[1]), actual: String(res[2] ?? "") };
  }

  /**
   * Store, log and publish a run of one host's output frames in one call (see
   * APPEND_OUTPUTS_LUA). Returns one result letter per frame, in order: s stored, d duplicate,
   * g gap, u unknown command, n not running, T the frame that crossed the output bound (a marker
   * stored in its place), t dropped past the bound.
   */
  async appendOutputs(hostId: string, frames: OutputAppend[]): Promise<string> {
    // Each command once (its keys and id), then per frame: the command's index, seq, stream, data.
    const keys: string[] = [this.keys.log, this.keys.logEpoch, this.keys.hostTeams];
    const ids: string[] = [];
    const index = new Map<string, number>();
    const perFrame: Array<string | number> = [];
    for (const f of frames) {
      let i = index.get(f.commandId);
      if (i === undefined) {
        i = ids.push(f.commandId);
        index.set(f.commandId, i);
        keys.push(this.keys.commandMeta(f.commandId), this.keys.commandOutput(f.commandId));
      }
      perFrame.push(i, f.seq, f.stream, f.dataJson);
    }
    const argv = [
      this.keys.eventsChannel,
      this.maxLen,
      this.epochCandidate,
      hostId,
      this.maxOutputBytes,
      this.truncatedMarkerJson,
      ids.length,
      ...ids,
      ...perFrame,
    ];
    const started = this.observe ? performance.now() : 0;
    const res = await this.redis.tetherAppendOutputs(keys.length, ...keys, ...argv);
    if (this.observe) this.observe((performance.now() - started) / 1000);
    return res;
  }

  /**
   * `hash[id]` and the whole `metaKey` hash as of one moment. A script rather than MULTI: it is
   * auto-pipelined with the connection's other calls, so a thousand agents connecting at once
   * cost a few socket writes, not a thousand.
   */
  async readRecord(hash: string, id: string, metaKey: string): Promise<{ json: string | null; meta: Record<string, string> }> {
    const [json, flat] = await this.redis.tetherReadRecord(2, hash, metaKey, id);
    const meta: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) meta[flat[i]!] = flat[i + 1]!;
    return { json, meta };
  }

  /** Current epoch of the log ('' when no event was ever appended). */
  async epoch(): Promise<string> {
    return (await this.redis.get(this.keys.logEpoch)) ?? "";
  }

  /**
   * Up to `limit` events after `afterStreamId` (exclusive; '-' for the start), as browser frames,
   * each with the team it is addressed to (events from before teams: `default`).
   */
  async readFrames(
    epoch: string,
    afterStreamId: string,
    limit: number,
  ): Promise<{ frames: string[]; entries: LoggedFrame[]; lastStreamId: string | null }> {
    const start = afterStreamId === "-" ? "-" : `(${afterStreamId}`;
    const raw = (await this.redis.xrange(this.keys.log, start, "+", "COUNT", limit)) as Array<[string, string[]]>;
    const entries: LoggedFrame[] = [];
    for (const [sid, fields] of raw) {
      entries.push({
        frame: formatEventFrame(sid, epoch, fieldOf(fields, "t"), fieldOf(fields, "p")),
        team: fieldOf(fields, "g") || DEFAULT_TEAM,
        except: fieldOf(fields, "x"),
      });
    }
    const last = raw.at(-1);
    return { frames: entries.map((e) => e.frame), entries, lastStreamId: last ? last[0] : null };
  }

  /**
   * Decide whether a client that saw everything up to `after` can resume from the log:
   * returns the stream id to read after, or null when it must resync from a snapshot (the id is
   * from another epoch, or was trimmed away, or never existed).
   */
  async resumePoint(after: string): Promise<{ epoch: string; streamId: string } | null> {
    const [epochRes, infoRes] = (await this.redis.multi().get(this.keys.logEpoch).call("XINFO", "STREAM", this.keys.log).exec()) as [
      [Error | null, string | null],
      [Error | null, unknown[] | null],
    ];
    // A missing stream is an error here (XINFO on no key); anything else is Redis failing.
    if (epochRes[0]) throw epochRes[0];
    if (infoRes[0] && !/no such key/i.test(infoRes[0].message)) throw infoRes[0];
    const epoch = epochRes[1] ?? "";
    const infoRaw = infoRes[0] ? null : infoRes[1];
    if (after === ORIGIN_ID) {
      // The client saw an empty log: fine as long as nothing was ever trimmed from this one.
      if (!infoRaw) return { epoch, streamId: "-" };
      // Trimming does not move max-deleted-entry-id; entries-added vs length tells.
      const intact = Number(infoField(infoRaw, "entries-added")) === Number(infoField(infoRaw, "length"));
      return intact ? { epoch, streamId: "-" } : null;
    }
    const parsed = parseEventId(after);
    if (!parsed || parsed.epoch !== epoch) return null;
    const found = await this.redis.xrange(this.keys.log, parsed.streamId, parsed.streamId);
    return found.length === 1 ? { epoch, streamId: parsed.streamId } : null;
  }

  /** Drop events older than `maxAgeMs` (XTRIM MINID ~). */
  async trimByAge(now: number, maxAgeMs: number): Promise<number> {
    return await this.redis.xtrim(this.keys.log, "MINID", "~", `${Math.max(0, now - maxAgeMs)}-0`);
  }
}

/** A logged event as a browser frame, with its audience (see envelope.ts). */
export interface LoggedFrame {
  frame: string;
  team: string;
  except: string;
}

/** The published message for a logged frame, byte-identical to what the scripts publish. */
export function envelopeOf(entry: LoggedFrame): string {
  return formatEnvelope(entry.team, entry.except, entry.frame);
}

/** The host an event is about: every fleet event is about one, but a run's ('': addressed by `team`). */
export function eventHostId(event: FleetEvent): string {
  switch (event.type) {
    case "host_update":
      return event.payload.host.id;
    case "command_queued":
    case "command_started":
      return event.payload.command.host_id;
    case "run_update":
    case "run_released":
    case "run_cancelled":
      return "";
    default:
      return event.payload.host_id;
  }
}

function fieldOf(fields: string[], name: string): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] ?? "";
  return "";
}

function infoField(info: unknown[], name: string): unknown {
  for (let i = 0; i < info.length; i += 2) if (info[i] === name) return info[i + 1];
  return undefined;
}
