import { randomBytes } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import { DEFAULT_TEAM, type FleetEvent } from "@tether/protocol";
import { formatEnvelope, formatEventFrame, parseEventId, ORIGIN_ID } from "./browser-frame";
import type { Keys } from "./keys";
import { defineScripts, publishVerb } from "./lua/scripts";

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
  /** `PUBLISH` takes the channel as its key; on a Redis Cluster it is sent as SPUBLISH (the channel is the partition's, in its slot). */
  cmd: "HSET" | "HDEL" | "HINCRBY" | "DEL" | "RPUSH" | "ZADD" | "ZREM" | "SADD" | "SREM" | "PEXPIRE" | "PUBLISH";
  key: string;
  args: Array<string | number>;
}

export type AppendResult = { ok: true; frame: string | null } | { ok: false; failedGuard: number; actual: string };

export interface EventLogOptions {
  redis: Redis | Cluster;
  /** The keys of the partition this log is (the whole deployment's with one partition). */
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
  private readonly redis: Redis | Cluster;
  readonly keys: Keys;
  /** How channels are rung on this connection (`Op` "PUBLISH" is sent as this). */
  private readonly publish: "SPUBLISH" | "PUBLISH";
  private readonly maxLen: number;
  private readonly maxOutputBytes: number;
  private readonly truncatedMarkerJson: string;
  private readonly observe: ((seconds: number) => void) | undefined;
  /** Used only if the log has no epoch yet (new, or Redis lost it). */
  private readonly epochCandidate = randomBytes(4).toString("hex");

  constructor(opts: EventLogOptions) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.maxLen = opts.maxLen;
    this.maxOutputBytes = opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER;
    this.truncatedMarkerJson = JSON.stringify(truncatedMarker(this.maxOutputBytes));
    this.observe = opts.observe;
    this.publish = publishVerb(opts.redis instanceof Cluster);
    defineScripts(opts.redis, "tetherAppend", "tetherAppendOutputs", "tetherReadRecord");
  }

  /**
   * Atomically check guards, apply ops, and (if `event` is given) append and publish it
   * (lua/append.lua). Returns the published frame (with its id), or which guard failed.
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
    for (const op of ops) argv.push(op.cmd === "PUBLISH" ? this.publish : op.cmd, idx(op.key), op.args.length, ...op.args);
    if (input.then) argv.push(1, input.then.event.type, JSON.stringify(input.then.event.payload), input.then.team, input.then.except ?? "");
    else argv.push(0);
    const started = this.observe ? performance.now() : 0;
    const res = await this.redis.tetherAppend(keyList.length, ...keyList, ...argv);
    if (this.observe) this.observe((performance.now() - started) / 1000);
    if (res[0] === 1) return { ok: true, frame: res[1] || null };
    return { ok: false, failedGuard: res[1], actual: res[2] };
  }

  /**
   * Store, log and publish a run of one host's output frames in one call (see
   * lua/append-outputs.lua). Returns one result letter per frame, in order: s stored, d duplicate,
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
   * `hash[id]` and the whole `metaKey` hash as of one moment. A script rather than MULTI: one
   * call and one reply, no ioredis Pipeline object per read (a MULTI is one), which a thousand
   * agents connecting at once would otherwise make and promote into old space.
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
