/** A whole Tether deployment as child processes over one test Redis. */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { freePort } from "./ports";
import { startTestRedis, type TestRedis } from "./redis";
import { startService, type ServiceKind, type ServiceProcess } from "./service";

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Hub nodes; default 2. */
  hubs?: number;
  /** Extra env for every process (OFFLINE_TIMEOUT_MS, PING_INTERVAL_MS, …). */
  env?: Record<string, string>;
  /** Share this Redis; by default the stack starts its own and stops it in `stop()`. */
  redis?: TestRedis;
}

/**
 * One api, N hubs and a worker over one Redis, sharing SESSION_SECRET, COMMAND_SIGNING_KEY,
 * REDIS_URL and REDIS_PREFIX.
 */
export interface Stack {
  readonly redis: TestRedis;
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
  const ownRedis = options.redis === undefined;
  const redis = options.redis ?? (await startTestRedis());
  const started: ServiceProcess[] = [];
  try {
    const apiPort = await freePort();
    const hubPorts = await Promise.all(Array.from({ length: hubCount }, () => freePort()));
    const origin = `http://127.0.0.1:${apiPort}`;
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
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
    const launch = async (kind: ServiceKind, extra: Record<string, string>): Promise<ServiceProcess> => {
      const service = await startService(kind, { ...env, ...extra });
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
      redis,
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
          if (ownRedis) await redis.stop();
        })();
        return stopping;
      },
    };
    return stack;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    if (ownRedis) await redis.stop();
    throw err;
  }
}
