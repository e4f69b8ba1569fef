/**
 * Tether for the bench: a throwaway redis-server, the api, the worker and two hubs (A: agents,
 * B: browsers) as separate processes (test/support startStack), plus the helpers scenarios
 * need: a logged-in cookie, hosts made through the product's own HostStore, REST dispatch.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Redis } from "ioredis";
import { EventLog, HostStore, PartitionSet, RecordMacs, createKeys } from "@tether/core";
import { pollUntil } from "./clock";
import { apiCall, login } from "../../test/support/clients";
import { startStack, type ServiceProcess, type Stack } from "../../test/support/processes";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../test/support/redis";

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
  readonly redis: TestRedis;
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
  /** The stack's processes by name (hubs A and B, worker, api, redis), for CPU accounting. */
  pids(): Record<string, number>;
  /** How many hosts a hub still holds in Redis (its disconnect writes are done when this is 0). */
  heldBy(hub: ServiceProcess): Promise<number>;
  /** Another hub with the stack's env plus `env` (e.g. PING_INTERVAL_MS for `idle`). */
  startHub(env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

const PROFILE_HOOK = path.join(__dirname, "cpu-profile-hook.cjs");

/** Starts it all; with `profileDir`, the two hubs are CPU-profiled into that directory (cpu-profile-hook.cjs). */
export async function startTether(options: { profileDir?: string } = {}): Promise<TetherBench> {
  const redis = await startTestRedis();
  let stack: Stack | undefined;
  let client: Redis | undefined;
  try {
    stack = await startStack({ hubs: 0, redis, env: BENCH_ENV });
    const hubEnv: Record<string, string> = options.profileDir
      ? { NODE_OPTIONS: `--require ${PROFILE_HOOK}`, CPU_PROFILE_DIR: options.profileDir }
      : {};
    const hubA = await stack.startHub(hubEnv);
    const hubB = await stack.startHub(hubEnv);
    const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
    client = newRedisClient(redis.url);
    const keys = createKeys(redis.prefix);
    const hosts = new HostStore(
      client,
      PartitionSet.single(new EventLog({ redis: client, keys, maxLen: 100_000 })),
      new RecordMacs(stack.env.SESSION_SECRET!),
    );
    const started = stack;
    const db = client;
    return {
      redis,
      stack,
      hubA,
      hubB,
      cookie,
      origin: stack.origin,
      async createHosts(prefix, n) {
        const made: Array<{ id: string; token: string; name: string }> = [];
        for (let i = 0; i < n; i += 500) {
          const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => `${prefix}-${i + j}`);
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
        const pids: Record<string, number> = { hubA: hubA.pid, hubB: hubB.pid, worker: started.worker.pid, api: started.api.pid };
        if (redis.pid !== undefined) pids.redis = redis.pid;
        return pids;
      },
      heldBy: (hub) => db.hlen(keys.hubHosts(hub.env.NODE_ID ?? "")),
      startHub: (env = {}) => started.startHub(env),
      async stop() {
        await closeClient(db);
        await started.stop();
        await redis.stop();
      },
    };
  } catch (err) {
    if (client) await closeClient(client);
    await stack?.stop();
    await redis.stop();
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
