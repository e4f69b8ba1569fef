import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import { ConfigError, type Config } from "./config";
import type { Logger } from "./logger";

/**
 * Where and how every connection of a process reaches Redis: the URL (credentials in it,
 * `redis://user:pass@host:port/db`; `rediss://` for TLS) and the options every role shares. One
 * value per process, so the command connection, the subscriber, BullMQ's connections (it
 * duplicates the one it is given, options included) and connect-redis all authenticate and
 * verify the server the same way.
 */
export interface RedisTarget {
  url: string;
  /** TLS options (a CA to trust) when `REDIS_TLS_CA_FILE` is set; `rediss://` alone uses the system CAs. */
  tls?: { ca: Buffer };
  /** Redis Sentinel (`REDIS_SENTINELS`): the primary is asked of these, and followed on failover. */
  sentinel?: { sentinels: Array<{ host: string; port: number }>; name: string; password?: string };
}

/**
 * Reads the Redis settings of {@link Config} once at start. The CA file is read here so a missing
 * or unreadable file stops the process with a message naming the variable, never a reconnect loop.
 */
export function redisTarget(
  config: Pick<Config, "REDIS_URL" | "REDIS_TLS_CA_FILE" | "REDIS_SENTINELS" | "REDIS_SENTINEL_NAME" | "REDIS_SENTINEL_PASSWORD">,
): RedisTarget {
  const target: RedisTarget = { url: config.REDIS_URL };
  const file = config.REDIS_TLS_CA_FILE;
  if (file !== undefined) {
    try {
      target.tls = { ca: readFileSync(file) };
    } catch (err) {
      throw new ConfigError([`REDIS_TLS_CA_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
  }
  if (config.REDIS_SENTINELS !== undefined) {
    target.sentinel = {
      sentinels: parseSentinels(config.REDIS_SENTINELS),
      name: config.REDIS_SENTINEL_NAME,
      ...(config.REDIS_SENTINEL_PASSWORD !== undefined && { password: config.REDIS_SENTINEL_PASSWORD }),
    };
  }
  return target;
}

/** `host:port,host:port…` (checked by the config schema) as addresses. */
export function parseSentinels(list: string): Array<{ host: string; port: number }> {
  return list.split(",").map((entry) => {
    const trimmed = entry.trim();
    const colon = trimmed.lastIndexOf(":");
    return { host: trimmed.slice(0, colon), port: Number(trimmed.slice(colon + 1)) };
  });
}

/**
 * The options that reach the primary through Sentinel: credentials and database from the URL
 * (its host and port are the Sentinels' business), TLS to the data nodes for `rediss://`.
 */
function sentinelOptions(url: string, tls: RedisTarget["tls"], sentinel: NonNullable<RedisTarget["sentinel"]>): RedisOptions {
  const parsed = new URL(url);
  const db = Number(parsed.pathname.slice(1) || "0");
  const secure = parsed.protocol === "rediss:";
  return {
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    ...(sentinel.password !== undefined && { sentinelPassword: sentinel.password }),
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    ...(Number.isInteger(db) && db > 0 && { db }),
    ...(secure && { enableTLSForSentinelMode: true, tls: tls ?? {} }),
    // Hear of a failover from the Sentinels at once (+switch-master), not at the next error.
    failoverDetector: true,
    // Keep asking the Sentinels, backing off to 1 s, as the direct connection does.
    sentinelRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
  };
}

/**
 * Connection roles. Each role gets its own connection (the caller owns them):
 * - `command`: ordinary reads and writes; fails fast-ish so a request can answer "unavailable".
 * - `subscriber`: Pub/Sub only.
 * - `bullmq`: BullMQ workers and queues (they require `maxRetriesPerRequest: null`).
 */
export type RedisRole = "command" | "subscriber" | "bullmq";

/**
 * Open one Redis connection for a role, with an error listener (never an unhandled 'error').
 * `target` is a {@link RedisTarget} (or a bare URL). The URL is never logged: it may hold a password.
 */
export function createRedis(target: RedisTarget | string, role: RedisRole, log: Logger, extra: RedisOptions = {}): Redis {
  const { url, tls, sentinel } = typeof target === "string" ? { url: target, tls: undefined, sentinel: undefined } : target;
  const options: RedisOptions = {
    ...(tls && { tls }),
    ...(sentinel && sentinelOptions(url, tls, sentinel)),
    lazyConnect: false,
    connectionName: `tether-${role}`,
    // Reconnect forever, backing off to 1 s: a Redis restart must never kill a service.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    maxRetriesPerRequest: role === "command" ? 2 : null,
    enableAutoPipelining: role === "command",
    // Output runs are batched by the hub already (one call per socket read); auto-pipelining them
    // again costs a Pipeline object per call. A direct call is written at once, ahead of calls
    // queued earlier in the same tick: safe, as a command's output is always flushed before its
    // finish is issued, and writes for different commands do not depend on each other.
    autoPipeliningIgnoredCommands: ["tetherAppendOutputs"],
    ...extra,
  };
  const redis = sentinel ? new Redis(options) : new Redis(url, options);
  let lastError = "";
  redis.on("error", (err: Error) => {
    // Log each distinct error once per outage, not once per retry.
    if (err.message !== lastError) log.warn({ role, err: err.message }, "redis error");
    lastError = err.message;
  });
  redis.on("ready", () => {
    if (lastError) log.info({ role }, "redis reconnected");
    lastError = "";
  });
  return redis;
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`). */
export function whenReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/** Close a connection without waiting on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 500))]);
  } catch {
    /* already closing */
  }
  redis.disconnect();
}
