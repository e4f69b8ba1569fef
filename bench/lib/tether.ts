/**
 * Tether for the bench: a throwaway redis-server (or, with `cluster`, a 3-master Redis Cluster
 * and LOG_PARTITIONS=8, issue 16), the api, the worker and two hubs (A: agents, B: browsers) as
 * separate processes (test/support startStack), plus the helpers scenarios need: a logged-in
 * cookie, hosts made through the product's own HostStore, REST dispatch, Redis CPU per server.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Cluster, type Redis } from "ioredis";
import { EventLog, HostStore, PartitionSet, RecordMacs, createPartitionedKeys } from "@tether/core";
import { pollUntil } from "./clock";
import type { Pids } from "./cpu";
import { RedisCpuMeter, partitionMasters, type RedisServer } from "./redis-cpu";
import { apiCall, login } from "../../test/support/clients";
import { startStack, type ServiceProcess, type Stack } from "../../test/support/processes";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../test/support/redis";
import { startTestCluster, type TestCluster } from "../../test/support/redis-cluster";

/** LOG_PARTITIONS of the cluster stack (issue 16 point 7: 8 partitions over 3 masters). */
export const CLUSTER_PARTITIONS = 8;

/**
 * Env of every Tether process in the bench. The agent/browser frame limits are raised so the
 * load generator measures the relay, not the flood guard; offline checks are pushed past the
 * run so closing thousands of agents between scenarios does not flip them offline mid-measure.
 */
export const BENCH_ENV: Record<string, string> = {
  AGENT_FRAMES_PER_SEC: "1000000",
  BROWSER_FRAMES_PER_SEC: "1000000",
  OFFLINE_TIMEOUT_MS: "900000",
  // The fan-out scenario opens 100 browsers on one session; the per-session cap (20) is a
  // defence against a flood, not what the bench measures.
  MAX_SOCKETS_PER_SESSION: "100000",
  LOG_LEVEL: "info",
};

export interface TetherBench {
  /** The single Redis (and the references' Pub/Sub); undefined on the cluster stack, where the references do not run. */
  readonly redis: TestRedis | undefined;
  /** The Redis Cluster of the cluster stack. */
  readonly cluster: TestCluster | undefined;
  /** The Redis servers measured per phase: `redis` alone, or the masters `m0`, `m1`, `m2` by slot range. */
  readonly redisServers: readonly RedisServer[];
  /** Which master serves each partition (`["redis"]` on a single Redis), from CLUSTER SLOTS at start. */
  readonly partitionMasters: readonly string[];
  /** How receivers check event ids: `global` on one partition, `host` over several (CONTRACT §7). */
  readonly idOrder: "global" | "host";
  readonly stack: Stack;
  /** Agents connect here. */
  readonly hubA: ServiceProcess;
  /** Browsers connect here. */
  readonly hubB: ServiceProcess;
  readonly cookie: string;
  /** The Origin browsers send (the api's, which every hub allows). */
  readonly origin: string;
  /** Creates `n` hosts named `${prefix}-${i}`; returns their ids and tokens in order. */
  createHosts(prefix: string, n: number): Promise<Array<{ id: string; token: string; name: string }>>;
  /** `POST /api/hosts/:id/commands`; returns the command id. */
  dispatch(hostId: string, command: string): Promise<string>;
  /**
   * With `profileDir`: start (or stop and write) the CPU profile of hubs A and B; resolves once
   * the profiles of a stop are written. Without it, does nothing.
   */
  toggleProfile(): Promise<void>;
  /** The stack's processes by name (hubs A and B, worker, api, redis or each master), for CPU accounting. */
  pids(): Record<string, number>;
  /** The Redis server processes alone (`redis`, or `redis-m0`…). */
  redisPids(): Pids;
  /** Starts measuring every Redis server's CPU (INFO cpu); the function it gives ends the phase. */
  redisCpu: RedisCpuMeter;
  /** How many hosts a hub still holds in Redis (its disconnect writes are done when this is 0). */
  heldBy(hub: ServiceProcess): Promise<number>;
  /** Another hub with the stack's env plus `env` (e.g. PING_INTERVAL_MS for `idle`). */
  startHub(env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

const PROFILE_HOOK = path.join(__dirname, "cpu-profile-hook.cjs");

/**
 * Starts it all; with `profileDir`, the two hubs are CPU-profiled into that directory
 * (cpu-profile-hook.cjs); with `cluster`, Tether runs on a 3-master Redis Cluster (no replicas)
 * with LOG_PARTITIONS=8 instead of one Redis.
 */
export async function startTether(options: { profileDir?: string; cluster?: boolean; built?: boolean } = {}): Promise<TetherBench> {
  let redis: TestRedis | undefined;
  let cluster: TestCluster | undefined;
  let stack: Stack | undefined;
  let client: Redis | Cluster | undefined;
  let meter: RedisCpuMeter | undefined;
  const stopRedis = async () => {
    await redis?.stop();
    await cluster?.stop();
  };
  try {
    let env = BENCH_ENV;
    let servers: RedisServer[];
    if (options.cluster) {
      cluster = await startTestCluster({ replicas: 0 });
      env = { ...BENCH_ENV, REDIS_URL: cluster.url, REDIS_PREFIX: cluster.prefix, LOG_PARTITIONS: String(CLUSTER_PARTITIONS) };
      // nodes[i] is shard i's master: m0 serves the slots from 0.
      servers = cluster.nodes.filter((n) => n.role === "master").map((n) => ({ name: `m${n.shard}`, port: n.port, pid: n.pid }));
      // startStack's own single Redis stands by unused (REDIS_URL above wins), as in the cluster e2e.
      stack = await startStack({ hubs: 0, env, built: options.built });
    } else {
      redis = await startTestRedis();
      servers = [{ name: "redis", port: redis.port, pid: redis.pid }];
      stack = await startStack({ hubs: 0, redis, env, built: options.built });
    }
    meter = new RedisCpuMeter(servers);
    const hubEnv: Record<string, string> = options.profileDir
      ? { NODE_OPTIONS: `--require ${PROFILE_HOOK}`, CPU_PROFILE_DIR: options.profileDir }
      : {};
    const hubA = await stack.startHub(hubEnv);
    const hubB = await stack.startHub(hubEnv);
    const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
    const partitions = cluster ? CLUSTER_PARTITIONS : 1;
    const prefix = cluster ? cluster.prefix : redis!.prefix;
    client = cluster ? new Cluster(servers.map((s) => ({ host: "127.0.0.1", port: s.port }))) : newRedisClient(redis!.url);
    client.on("error", () => undefined);
    const keys = createPartitionedKeys(prefix, partitions, { cluster: cluster !== undefined });
    const db = client;
    const parts = new PartitionSet(
      keys,
      keys.all.map((k) => new EventLog({ redis: db, keys: k, maxLen: 100_000 })),
    );
    const hosts = new HostStore(client, parts, new RecordMacs(stack.env.SESSION_SECRET!));
    const masterOf = cluster ? partitionMasters(partitions, await meter.slotRanges(), servers) : ["redis"];
    const started = stack;
    const cpuMeter = meter;
    const redisPids = (): Pids => {
      const out: Pids = {};
      for (const s of servers) {
        const pid = cluster ? cluster.nodes.find((n) => n.port === s.port)?.pid : redis?.pid;
        if (pid !== undefined) out[cluster ? `redis-${s.name}` : "redis"] = pid;
      }
      return out;
    };
    return {
      redis,
      cluster,
      redisServers: servers,
      partitionMasters: masterOf,
      idOrder: partitions > 1 ? "host" : "global",
      stack,
      hubA,
      hubB,
      cookie,
      origin: stack.origin,
      async createHosts(namePrefix, n) {
        const made: Array<{ id: string; token: string; name: string }> = [];
        for (let i = 0; i < n; i += 500) {
          const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => `${namePrefix}-${i + j}`);
          const created = await Promise.all(batch.map((name) => hosts.create(name, Date.now())));
          made.push(...created.map((c, j) => ({ id: c.host.id, token: c.token, name: batch[j]! })));
        }
        return made;
      },
      async dispatch(hostId, command) {
        const res = await apiCall(started.api.url, cookie, "POST", `/api/hosts/${hostId}/commands`, { command });
        if (res.status !== 202) throw new Error(`dispatch: expected 202, got ${res.status} ${res.text.slice(0, 200)}`);
        return res.json<{ command: { id: string } }>().command.id;
      },
      async toggleProfile() {
        const dir = options.profileDir;
        if (!dir) return;
        const count = () => readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).length;
        const before = count();
        const alive = [hubA, hubB].filter((hub) => hub.exitInfo === undefined);
        for (const hub of alive) process.kill(hub.pid, "SIGUSR2");
        // A stop writes one file per hub; a start writes none (then this returns after the wait).
        await pollUntil(() => count() >= before + alive.length, 5000);
      },
      pids() {
        return { hubA: hubA.pid, hubB: hubB.pid, worker: started.worker.pid, api: started.api.pid, ...redisPids() };
      },
      redisPids,
      redisCpu: cpuMeter,
      async heldBy(hub) {
        const counts = await Promise.all(keys.all.map((k) => db.hlen(k.hubHosts(hub.env.NODE_ID ?? ""))));
        return counts.reduce((a, b) => a + b, 0);
      },
      startHub: (env = {}) => started.startHub(env),
      async stop() {
        await cpuMeter.close();
        if (db instanceof Cluster) await db.quit().catch(() => db.disconnect());
        else await closeClient(db);
        await started.stop();
        await stopRedis();
      },
    };
  } catch (err) {
    await meter?.close();
    if (client) client.disconnect();
    await stack?.stop();
    await stopRedis();
    throw err;
  }
}

/** Resident set size of a process, KiB (`VmRSS` in /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** The soft limit on open files of this process (generators and hubs inherit it). */
export function openFileLimit(): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
  return !m || m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
}
