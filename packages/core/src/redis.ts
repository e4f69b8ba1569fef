import { readFileSync } from "node:fs";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { KEY_COUNT_FIRST_SCRIPTS } from "./lua/scripts";
import { ConfigError, type Config } from "./config";
import type { Logger } from "./logger";
import { MAX_PARTITIONS, queueTag } from "./partitions";

/** A connection of any REDIS_URL: a single node (or Sentinel's primary) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** True for a Redis Cluster client (ioredis sets `isCluster` on both kinds). */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

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
  /** A Redis Cluster (`redis+cluster://`, `rediss+cluster://`): its seeds and shared options. */
  cluster?: ClusterTarget;
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
  if (isClusterUrl(config.REDIS_URL)) {
    // The config refuses REDIS_SENTINELS with a cluster URL; TLS options reach every node.
    target.cluster = clusterTarget(config.REDIS_URL, target.tls);
    return target;
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
    // No auto-pipelining on one Redis: each call is written as it is made, in order. ioredis makes
    // a Pipeline per batch (a copy of every defined script's methods, a promise, queues) that lives
    // until the batch's replies are in; in a connect storm thousands of them, and the calls they
    // hold, lived across a scavenge and were promoted with the sockets they served. Measured on a
    // hub holding 5,000 idle agents (`npm run bench -- --scenario idle --quick`): 11.6 → 7.0–8.0
    // KiB of RSS per socket, the storm's 3,000 agents back in 2.3 s before, 2.3–2.6 s after (issue
    // 15.4). A Cluster client keeps it (clusterOptions): there it also groups calls per node.
    enableAutoPipelining: false,
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

/** True for a `redis+cluster://` or `rediss+cluster://` REDIS_URL (CONTRACT §7). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//i.test(url);
}

/**
 * A Redis Cluster as ioredis' {@link Cluster} takes it: the seed nodes (any reachable one tells
 * the client the rest of the topology) and the options every role shares.
 */
export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  options: ClusterOptions & { redisOptions: NonNullable<ClusterOptions["redisOptions"]> };
}

/**
 * Parses `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS,
 * `tls` as {@link RedisTarget.tls}: a CA from REDIS_TLS_CA_FILE, else the system CAs). The
 * credentials (read as the single client reads them: `user:password`, `:password`) apply to every
 * node, seeds and discovered ones alike. A node's port defaults to
 * 6379; a database other than 0 is refused (a cluster has only database 0), as is a query string
 * (nothing reads it; silently ignoring an option would be worse). Throws {@link ConfigError}
 * naming REDIS_URL; the URL itself is never put in a message, it may hold a password.
 */
export function clusterTarget(url: string, tls?: RedisTarget["tls"]): ClusterTarget {
  const bad = (why: string): never => {
    throw new ConfigError([`REDIS_URL: ${why}`]);
  };
  const match = /^(rediss?)\+cluster:\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(url);
  if (!match) return bad("not a redis+cluster:// or rediss+cluster:// URL");
  const [, scheme, userinfo, hosts, path, rest] = match;
  if (rest !== undefined) bad("a cluster URL takes no query string or fragment");
  if (path !== undefined && !/^\/0?$/.test(path)) bad("Redis Cluster has only database 0");
  const nodes = hosts!.split(",").map((entry, i) => {
    // `[v6]:port`, `host:port` or a bare host (port 6379).
    const node = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(entry.trim());
    const port = Number(node?.[3] ?? 6379);
    if (!node || port < 1 || port > 65535) return bad(`cluster node ${i + 1} is not host:port`);
    return { host: node[1] ?? node[2]!, port };
  });
  const redisOptions: ClusterTarget["options"]["redisOptions"] = {};
  if (userinfo) {
    const colon = userinfo.indexOf(":");
    const [user, password] = colon === -1 ? [userinfo, ""] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
    try {
      if (user) redisOptions.username = decodeURIComponent(user);
      if (password) redisOptions.password = decodeURIComponent(password);
    } catch {
      bad("the credentials are not valid percent-encoding");
    }
  }
  if (scheme!.toLowerCase() === "rediss") redisOptions.tls = tls ?? {};
  return {
    nodes,
    options: {
      redisOptions,
      // Reads go where writes go: a replica may lag behind, and Tether reads its own writes.
      scaleReads: "master",
    },
  };
}

/**
 * The options of one role's {@link Cluster} connection, as {@link createRedis} gives the single
 * client: the same retries; auto-pipelining for commands only (unlike the single client: here it
 * also sorts a tick's calls by node, and it was not measured without), and for the subscriber ioredis'
 * sharded subscribers (one connection per master, for SSUBSCRIBE; a plain SUBSCRIBE on a
 * cluster hears every PUBLISH of every node, which is what sharded Pub/Sub avoids).
 */
export function clusterOptions(target: ClusterTarget, role: RedisRole, extra: ClusterOptions = {}): ClusterOptions {
  return {
    ...target.options,
    lazyConnect: false,
    // Reconnect forever, backing off to 1 s: a cluster restart must never kill a service.
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    enableAutoPipelining: role === "command",
    // ioredis groups an auto-pipelined call by its first argument taken as the key; the scripts
    // called with their key count first would be grouped by the count and mix masters' slots.
    autoPipeliningIgnoredCommands: KEY_COUNT_FIRST_SCRIPTS,
    shardedSubscribers: role === "subscriber",
    // Ask for the slot map every second. ioredis refreshes it only when a MOVED reply is retried,
    // and it does not retry a pipeline (auto-pipelined calls included) whose replies mix a MOVED
    // with anything else (ioredis issue #2075): after a failover the client then kept sending the
    // moved slots to their old node, every call failing with MOVED, for ever.
    slotsRefreshInterval: 1_000,
    ...extra,
    redisOptions: {
      ...target.options.redisOptions,
      connectionName: `tether-${role}`,
      maxRetriesPerRequest: role === "command" ? 2 : null,
      ...extra.redisOptions,
    },
  };
}

/**
 * Open one Redis Cluster client for a role, with an error listener (never an unhandled 'error';
 * a node's own errors arrive as 'node error'). The caller owns it; close it with {@link closeRedis}.
 */
export function createClusterClient(target: ClusterTarget, role: RedisRole, log: Logger, extra: ClusterOptions = {}): Cluster {
  const cluster = new Cluster(target.nodes, clusterOptions(target, role, extra));
  // The last error of each source (a node's address, or "" for the cluster's own): a node's
  // WRONGPASS and the cluster's "Failed to refresh slots cache" alternate on every retry.
  const lastErrors = new Map<string, string>();
  const onError = (err: Error, node?: string) => {
    // Once per distinct error, source and outage, as for the single client; the address names the node, never a password.
    if (lastErrors.get(node ?? "") !== err.message) log.warn({ role, node, err: err.message }, "redis cluster error");
    lastErrors.set(node ?? "", err.message);
  };
  // ioredis asks a node for the slots on a throwaway connection whose own error (a certificate
  // the CA did not sign, a refused connect) it drops: only "Connection is closed." arrives. Once
  // per node and outage, one connection of our own, with the same options, tells the cause.
  const probed = new Set<string>();
  cluster.on("error", (err: Error) => onError(err));
  cluster.on("node error", (err: Error, node: string) => {
    const closed = err.message === CONNECTION_CLOSED;
    if (closed && probed.has(node)) return; // its cause is logged already
    onError(err, node);
    if (!closed) return;
    probed.add(node);
    void connectError(target, node).then((cause) => cause && onError(cause, node));
  });
  cluster.on("ready", () => {
    if (lastErrors.size > 0) log.info({ role }, "redis cluster reconnected");
    lastErrors.clear();
    probed.clear();
  });
  return cluster;
}

/** ioredis' message for a command on a connection that went away (it names no cause). */
const CONNECTION_CLOSED = "Connection is closed.";

/** Connects once to one cluster node (`host:port`) with the cluster's node options; resolves with the error, if any. */
async function connectError(target: ClusterTarget, node: string): Promise<Error | undefined> {
  const colon = node.lastIndexOf(":");
  const probe = new Redis({
    ...target.options.redisOptions,
    host: node.slice(0, colon),
    port: Number(node.slice(colon + 1)),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: "tether-probe",
  });
  let first: Error | undefined;
  probe.on("error", (err: Error) => (first ??= err));
  try {
    await probe.connect();
    return undefined;
  } catch (err) {
    return first ?? (err as Error);
  } finally {
    probe.disconnect();
  }
}

/**
 * Open one connection for a role, of whatever kind the target names: a {@link Cluster} for a
 * cluster URL ({@link createClusterClient}), else a {@link Redis} ({@link createRedis}).
 */
export function createRedisClient(target: RedisTarget | string, role: RedisRole, log: Logger): RedisClient {
  const cluster = typeof target === "string" ? (isClusterUrl(target) ? clusterTarget(target) : undefined) : target.cluster;
  return cluster ? createClusterClient(cluster, role, log) : createRedis(target, role, log);
}

/**
 * The BullMQ prefix of one queue. On a single Redis it is `bullPrefix` as it always was (every
 * queue under `<prefix>:bull`). On a cluster each of a queue's keys must share a slot (BullMQ's
 * scripts touch several), so the prefix ends in a hash tag naming the queue: `<bullPrefix>:{<queue>~<k>}`
 * (`<prefix>:g:bull:{presence~…}` from the cluster's `{g}`-tagged global keys), one slot per queue,
 * the queues' slots spread over the masters ({@link queueTag}).
 */
export function queuePrefix(bullPrefix: string, queue: string, client: RedisClient): string {
  // Braces in bullPrefix would be the tag instead (the first `{…}` wins): dropped on a cluster.
  return isCluster(client) ? `${bullPrefix.replace(/[{}]/g, "")}:{${queueTag(queue)}}` : bullPrefix;
}

/**
 * The start-up check of `LOG_PARTITIONS` (CONTRACT §7: fixed when a deployment first starts). The
 * first process to start stores the count (SET NX of `<global prefix>:log-partitions`, the global
 * keys' prefix from `createPartitionedKeys`, so `{g}`-tagged on a cluster); every later one must
 * match it. A different stored value throws {@link ConfigError} naming both values: hosts would
 * be looked for in the wrong partitions.
 */
export async function checkPartitionCount(redis: RedisClient, keys: { prefix: string }, n: number): Promise<void> {
  const key = `${keys.prefix}:log-partitions`;
  const set = await redis.set(key, String(n), "NX");
  if (set === "OK") return;
  const stored = await redis.get(key);
  if (stored === String(n)) return;
  const count = Number(stored);
  if (stored === null || !Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new ConfigError([
      `LOG_PARTITIONS: ${key} holds ${JSON.stringify(stored)}, not a partition count; this deployment's count is unknown`,
    ]);
  }
  throw new ConfigError([
    `LOG_PARTITIONS: this deployment was started with LOG_PARTITIONS=${count} and cannot change it; this process has LOG_PARTITIONS=${n}`,
  ]);
}

/** A node's reply to AUTH (or to a command before it) that no retry can change: the credentials are wrong. */
const AUTH_REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/**
 * Resolves once the connection is ready (or rejects after `timeoutMs`). A cluster node that
 * refuses the credentials rejects at once with a {@link ConfigError} naming REDIS_URL (never the
 * URL: it holds the password): a cluster client would otherwise retry the slots refresh forever
 * and report only "Failed to refresh slots cache".
 */
export function whenReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
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
    const onNodeError = (err: Error, node: string) => {
      if (!AUTH_REFUSED.test(err.message)) return;
      cleanup();
      reject(new ConfigError([`REDIS_URL: the Redis Cluster node ${node} refused the credentials (${err.message})`]));
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("node error", onNodeError);
    };
    redis.on("ready", onReady);
    if (isCluster(redis)) redis.on("node error", onNodeError);
  });
}

/** Close a connection without waiting on a dead server. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === "end") return;
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 500))]);
  } catch {
    /* already closing */
  }
  redis.disconnect();
}
