import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger";

/**
 * Connection roles. Each role gets its own connection (the caller owns them):
 * - `command`: ordinary reads and writes; fails fast-ish so a request can answer "unavailable".
 * - `subscriber`: Pub/Sub only.
 * - `bullmq`: BullMQ workers and queues (they require `maxRetriesPerRequest: null`).
 */
export type RedisRole = "command" | "subscriber" | "bullmq";

/** Open one Redis connection for a role, with an error listener (never an unhandled 'error'). */
export function createRedis(url: string, role: RedisRole, log: Logger, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
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
  const redis = new Redis(url, options);
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
