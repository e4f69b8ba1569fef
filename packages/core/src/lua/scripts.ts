import { readFileSync } from "node:fs";
import path from "node:path";
import { Cluster, type Redis } from "ioredis";
import { DEFAULT_TEAM } from "@tether/protocol";

/**
 * Every Lua script of Tether: the command it becomes on a connection (`defineCommand`, typed in
 * redis-scripts.d.ts) and its file in this folder. Each file opens with a header naming its KEYS,
 * ARGV and result. `numberOfKeys` is fixed for the scripts called with named arguments; the others
 * take the key count first.
 */
const SCRIPTS = {
  tetherAppend: { file: "append.lua" },
  tetherAppendOutputs: { file: "append-outputs.lua" },
  tetherReadRecord: { file: "read-record.lua" },
  tetherSealRecords: { file: "seal-records.lua" },
  tetherUserWrite: { file: "user-write.lua" },
  tetherClaimSocket: { file: "claim-socket.lua", numberOfKeys: 1 },
  tetherRefreshSession: { file: "refresh-session.lua", numberOfKeys: 2 },
} as const satisfies Record<string, { file: string; numberOfKeys?: number }>;

export type ScriptName = keyof typeof SCRIPTS;
export const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];

/**
 * The scripts called with their key count first. ioredis' auto-pipelining on a Cluster groups a
 * call by its first argument as if it were the key (here: the count), so these must not be
 * auto-pipelined there: a group would mix slots of different masters and the pipeline be refused.
 */
export const KEY_COUNT_FIRST_SCRIPTS: ScriptName[] = SCRIPT_NAMES.filter((name) => !("numberOfKeys" in SCRIPTS[name]));

/**
 * The .lua files sit beside the JavaScript that reads them: this folder when run as TypeScript
 * (tsx, ts-jest), `services/<name>/dist/` in a built bundle (scripts/build.ts copies them there,
 * and the image copies dist/ whole). So one rule, `__dirname`, holds all three ways.
 */
const LUA_DIR = __dirname;

/**
 * TypeScript constants a script may name as `$NAME` (Lua never uses `$`); substituted at load.
 * `$PUBLISH` is the verb that rings a channel: sharded Pub/Sub's SPUBLISH on a Redis Cluster (the
 * message crosses only the channel's own shard, whose slot is the partition's), PUBLISH on one Redis.
 */
const CONSTANTS = (cluster: boolean): Record<string, string> => ({ DEFAULT_TEAM, PUBLISH: publishVerb(cluster) });

/** The command that rings a channel on this kind of connection (see `$PUBLISH`). */
export const publishVerb = (cluster: boolean): "SPUBLISH" | "PUBLISH" => (cluster ? "SPUBLISH" : "PUBLISH");

/** `--!include <file>.lua` on a line of its own: that file's text in its place (once per script). */
const INCLUDE = /^--!include ([a-z0-9-]+\.lua)[ \t]*$/gm;
const CONSTANT = /\$([A-Z_]+)/g;

const sources = new Map<string, string>();

/**
 * A script's text as sent to Redis: includes resolved and constants substituted. Read from disk
 * once per process; a missing file, a cyclic include or an unknown constant throws (at the first
 * `defineScripts`, i.e. when a store is built at start, not at the first call).
 */
export function luaSource(file: string, cluster = false): string {
  const cacheKey = `${cluster ? "cluster" : "single"}:${file}`;
  let text = sources.get(cacheKey);
  if (text === undefined) {
    const constants = CONSTANTS(cluster);
    text = resolve(file, new Set()).replace(CONSTANT, (_m, name: string) => {
      const value = constants[name];
      if (value === undefined) throw new Error(`${file}: unknown constant $${name}`);
      return value;
    });
    sources.set(cacheKey, text);
  }
  return text;
}

function resolve(file: string, seen: Set<string>): string {
  if (seen.has(file)) throw new Error(`${file}: included twice (or in a cycle)`);
  seen.add(file);
  return readFileSync(path.join(LUA_DIR, file), "utf8").replace(INCLUDE, (_line, inner: string) => resolve(inner, seen).trimEnd());
}

/**
 * Define `names` on this connection (ioredis then runs each by EVALSHA, loading it on NOSCRIPT).
 * Idempotent: every store built on the same connection asks for its scripts, each defined once.
 */
export function defineScripts(redis: Redis | Cluster, ...names: ScriptName[]): void {
  const defined = redis.scriptsSet as Record<string, unknown>;
  for (const name of names) {
    if (Object.hasOwn(defined, name)) continue;
    const script: { file: string; numberOfKeys?: number } = SCRIPTS[name];
    redis.defineCommand(name, { lua: luaSource(script.file, redis instanceof Cluster), numberOfKeys: script.numberOfKeys });
  }
}
