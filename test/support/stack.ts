/** A whole Tether deployment as child processes over one test Redis, or over a test Redis Cluster. */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { QueueEvents, type QueueEventsOptions } from "bullmq";
import { clusterTarget, closeRedis, createClusterClient, createKeys, createLogger, createPartitionedKeys, queuePrefix } from "@tether/core";
import type { Cluster } from "ioredis";
import { freePort } from "./ports";
import { startTestRedis, type TestRedis } from "./redis";
import type { TestCluster } from "./redis-cluster";
import { builtArgs, startService, type ServiceKind, type ServiceProcess } from "./service";

/** `LOG_PARTITIONS` of a stack on a cluster unless {@link StackOptions.partitions} says otherwise (issue 16 point 6). */
export const CLUSTER_PARTITIONS = 8;

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Hub nodes; default 2. */
  hubs?: number;
  /** Extra env for every process (OFFLINE_TIMEOUT_MS, PING_INTERVAL_MS, …). */
  env?: Record<string, string>;
  /** Share this Redis; by default the stack starts its own and stops it in `stop()`. */
  redis?: TestRedis;
  /**
   * Run on this Redis Cluster instead (CONTRACT §7): `REDIS_URL` its `redis+cluster://` URL, a
   * fresh `REDIS_PREFIX` of its own (so the stacks of one suite can share one cluster) and
   * `LOG_PARTITIONS` = {@link StackOptions.partitions}. The caller owns the cluster: `stop()` leaves it running.
   */
  cluster?: TestCluster;
  /** `LOG_PARTITIONS` on a cluster; default {@link CLUSTER_PARTITIONS}. */
  partitions?: number;
  /**
   * Run the built JavaScript (`services/<kind>/dist/main.js`, `npm run build`), as the image and
   * the Kubernetes manifests do, instead of the TypeScript through tsx. The caller builds first.
   */
  built?: boolean;
}

/**
 * One api, N hubs and a worker over one Redis, sharing SESSION_SECRET, COMMAND_SIGNING_KEY,
 * REDIS_URL and REDIS_PREFIX.
 */
export interface Stack {
  /** The single Redis the stack runs on; reading it on a cluster stack throws (use {@link Stack.cluster}). */
  readonly redis: TestRedis;
  /** The Redis Cluster the stack runs on ({@link StackOptions.cluster}); undefined on a single Redis. */
  readonly cluster: TestCluster | undefined;
  /** The stack's REDIS_PREFIX. */
  readonly prefix: string;
  /**
   * A BullMQ QueueEvents on one of the stack's queues (`QueueName.*`), through the connection kind
   * and the queue prefix the services use (on a cluster: a cluster client, the queue's hash tag),
   * ready; `close()` it. To await a job's completion as an event.
   */
  queueEvents(queue: string): Promise<QueueEvents>;
  readonly api: ServiceProcess;
  /** Hubs in start order; {@link Stack.startHub} appends. Replace entries freely: `stop()` stops what is here. */
  hubs: ServiceProcess[];
  /** Assign a replacement (after killing it) and `stop()` stops the new one. */
  worker: ServiceProcess;
  /** The env every process got (without PORT and NODE_ID): `startService("hub", stack.env)` joins the stack. */
  readonly env: Readonly<Record<string, string>>;
  /** The admin user the API creates at start (ADMIN_USER / ADMIN_PASSWORD). */
  readonly admin: { username: string; password: string };
  /** The API's origin (`http://127.0.0.1:port`), the browser Origin every process allows. */
  readonly origin: string;
  /** Starts another hub with the stack's env (plus `env`), e.g. to replace a killed one or reuse its PORT. */
  startHub(env?: Record<string, string>): Promise<ServiceProcess>;
  /**
   * SIGTERM every process it started or now holds in `api`/`hubs`/`worker` (SIGKILL after 5 s),
   * await their exits, then stop the Redis if the stack started it. Idempotent.
   */
  stop(): Promise<void>;
}

/** Starts a stack; everything is ready (`/readyz` 200) when it resolves. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const hubCount = options.hubs ?? 2;
  const cluster = options.cluster;
  if (cluster && options.redis) throw new Error("startStack: give `redis` or `cluster`, not both");
  const ownRedis = options.redis === undefined && cluster === undefined;
  const redis = cluster ? undefined : (options.redis ?? (await startTestRedis()));
  const stopOwnRedis = async () => {
    if (ownRedis) await redis?.stop();
  };
  const partitions = options.partitions ?? CLUSTER_PARTITIONS;
  const store: Record<string, string> & { REDIS_PREFIX: string } = cluster
    ? { REDIS_URL: cluster.url, REDIS_PREFIX: cluster.newPrefix(), LOG_PARTITIONS: String(partitions) }
    : { REDIS_URL: redis!.url, REDIS_PREFIX: redis!.prefix };
  const started: ServiceProcess[] = [];
  try {
    const apiPort = await freePort();
    const hubPorts = await Promise.all(Array.from({ length: hubCount }, () => freePort()));
    const origin = `http://127.0.0.1:${apiPort}`;
    const env: Record<string, string> = {
      ...store,
      SESSION_SECRET: randomBytes(32).toString("hex"),
      // One key for the whole stack, as in production: an agent verifies what any api or hub signed.
      COMMAND_SIGNING_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      ADMIN_USER: "admin",
      ADMIN_PASSWORD: `pw-${randomBytes(8).toString("hex")}`,
      // The dashboard's origin (the API) plus each hub's own, so a browser client may use either.
      ALLOWED_ORIGINS: [origin, ...hubPorts.map((p) => `http://127.0.0.1:${p}`)].join(","),
      ...options.env,
    };
    const admin = { username: env.ADMIN_USER!, password: env.ADMIN_PASSWORD! };
    const tag = randomBytes(3).toString("hex");
    const launch = async (kind: Exclude<ServiceKind, "all">, extra: Record<string, string>): Promise<ServiceProcess> => {
      const service = await startService(kind, { ...env, ...extra }, options.built ? { nodeArgs: builtArgs(kind) } : {});
      started.push(service);
      return service;
    };
    const results = await Promise.allSettled([
      launch("api", { PORT: String(apiPort), NODE_ID: `api-${tag}` }),
      ...hubPorts.map((port, i) => launch("hub", { PORT: String(port), NODE_ID: `hub${i + 1}-${tag}` })),
      launch("worker", { NODE_ID: `worker-${tag}` }),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const [api, ...rest] = results.map((r) => (r as PromiseFulfilledResult<ServiceProcess>).value);
    let extraHubs = 0;
    let stopping: Promise<void> | undefined;
    const stack: Stack = {
      get redis(): TestRedis {
        if (!redis) throw new Error("this stack runs on a Redis Cluster: use stack.cluster (and stack.prefix)");
        return redis;
      },
      cluster,
      prefix: store.REDIS_PREFIX,
      queueEvents: (queue) =>
        cluster ? clusterQueueEvents(cluster, store.REDIS_PREFIX, partitions, queue) : singleQueueEvents(redis!, queue),
      api: api!,
      hubs: rest.slice(0, hubCount),
      worker: rest[hubCount]!,
      env,
      admin,
      origin,
      async startHub(extra = {}) {
        extraHubs += 1;
        const hub = await launch("hub", { NODE_ID: `hub${hubCount + extraHubs}-${tag}`, ...extra });
        stack.hubs.push(hub);
        return hub;
      },
      stop() {
        stopping ??= (async () => {
          const all = new Set([...started, stack.api, ...stack.hubs, stack.worker]);
          await Promise.all([...all].map((s) => s.stop()));
          await stopOwnRedis();
        })();
        return stopping;
      },
    };
    return stack;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    await stopOwnRedis();
    throw err;
  }
}

/** The services' BullMQ view of one Redis: `{url}` and the one `<prefix>:bull` prefix. */
async function singleQueueEvents(redis: TestRedis, queue: string): Promise<QueueEvents> {
  const events = new QueueEvents(queue, { connection: { url: redis.url }, prefix: createKeys(redis.prefix).bullPrefix });
  await events.waitUntilReady();
  return events;
}

/** A QueueEvents that also closes the cluster client it was given (BullMQ closes only its own duplicate). */
class ClusterQueueEvents extends QueueEvents {
  constructor(
    queue: string,
    options: QueueEventsOptions,
    private readonly ownedClient: Cluster,
  ) {
    super(queue, options);
  }
  override async close(): Promise<void> {
    await super.close();
    await closeRedis(this.ownedClient);
  }
}

/** On a cluster: a cluster client as the services make it, and the queue's own hash-tagged prefix (`queuePrefix`). */
async function clusterQueueEvents(cluster: TestCluster, prefix: string, partitions: number, queue: string): Promise<QueueEvents> {
  const log = createLogger({ level: "silent", nodeId: "test", service: "stack-queue-events" });
  const client = createClusterClient(clusterTarget(cluster.url), "bullmq", log);
  const keys = createPartitionedKeys(prefix, partitions, { cluster: true });
  const events = new ClusterQueueEvents(queue, { connection: client, prefix: queuePrefix(keys.bullPrefix, queue, client) }, client);
  await events.waitUntilReady();
  return events;
}

/** Which Redis a parameterised suite runs on (issue 16 point 6): the same test bodies on one Redis and on a cluster. */
export type StackBackend = "redis" | "cluster";

/** What one suite's stacks share: one test Redis, or one 3-master test cluster (each stack under its own prefix). */
export interface SuiteRedis {
  readonly backend: StackBackend;
  /** Spread into {@link startStack}'s options: `{ redis }` or `{ cluster }`. */
  readonly stackOptions: Pick<StackOptions, "redis" | "cluster">;
  /** The single Redis (undefined on a cluster). */
  readonly redis: TestRedis | undefined;
  /** The cluster (undefined on a single Redis). */
  readonly cluster: TestCluster | undefined;
  /** Stops what it started. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a suite's Redis of the given backend: `startTestRedis()`, or `startTestCluster()` (three
 * masters, no replicas: failover has its own tests) whose stacks get `LOG_PARTITIONS=8`.
 */
export async function startSuiteRedis(backend: StackBackend): Promise<SuiteRedis> {
  if (backend === "redis") {
    const redis = await startTestRedis();
    return { backend, stackOptions: { redis }, redis, cluster: undefined, stop: () => redis.stop() };
  }
  // Imported here: a single-Redis suite never loads the cluster fixture.
  const { startTestCluster } = await import("./redis-cluster");
  const cluster = await startTestCluster();
  return { backend, stackOptions: { cluster }, redis: undefined, cluster, stop: () => cluster.stop() };
}
