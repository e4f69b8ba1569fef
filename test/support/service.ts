/**
 * Tether services as real child processes (`node --import tsx <entry>`), for multi-node and
 * crash tests. Each gets a free port, is awaited through `GET /readyz`, and its output is kept
 * (last 200 lines) for error messages; `TETHER_TEST_VERBOSE=1` echoes it to stderr.
 */
import path from "node:path";
import { builtEntry, type BuiltService } from "../../scripts/build";
import { readLines, signalOwned, spawnOwned, type ExitInfo, type OwnedChild } from "./children";
import { request } from "./http";
import { freePort } from "./ports";
import { delay, tail, TimeoutError, withTimeout } from "./wait";

export type { ExitInfo } from "./children";

/** Which entrypoint to run. */
export type ServiceKind = "api" | "hub" | "worker" | "all";

const ROOT = path.resolve(__dirname, "../..");

/** Node's arguments for a service's built JavaScript, as the image runs it (`nodeArgs` below). */
export const builtArgs = (kind: BuiltService): string[] => ["--enable-source-maps", builtEntry(kind)];

/** Entry file per kind, relative to the repo root. */
export const SERVICE_ENTRIES: Record<ServiceKind, string> = {
  api: "services/api/src/main.ts",
  hub: "services/hub/src/main.ts",
  worker: "services/worker/src/main.ts",
  all: "scripts/start.ts",
};

// Variables Tether reads (CONTRACT §1 and config additions): never inherited from the shell
// running the tests, so a developer's REDIS_URL/REDIS_PREFIX cannot leak into a child.
const TETHER_VARS = [
  "NODE_ENV",
  "REDIS_URL",
  "REDIS_PREFIX",
  "REDIS_TLS_CA_FILE",
  "REDIS_TLS_CERT_FILE",
  "REDIS_TLS_KEY_FILE",
  "PORT",
  "HOST",
  "SESSION_SECRET",
  "COMMAND_SIGNING_KEY",
  "COMMAND_SIGNING_KEY_FILE",
  "COMMAND_SIGNING_KEYS_PREVIOUS",
  "ADMIN_USER",
  "ADMIN_PASSWORD",
  "ALLOWED_ORIGINS",
  "TRUST_PROXY",
  "OFFLINE_TIMEOUT_MS",
  "PING_INTERVAL_MS",
  "COMMAND_TTL_MS",
  "MAX_MESSAGE_BYTES",
  "NODE_ID",
  "HUB_TTL_MS",
  "SWEEP_INTERVAL_MS",
  "LOG_MAX_LEN",
  "LOG_MAX_AGE_MS",
  "MAX_BUFFERED_BYTES",
  "LOGIN_RATE_LIMIT",
  "LOGIN_USER_RATE_LIMIT",
  "LOGIN_MAX_HASHES",
  "LOGIN_MAX_WAITING",
  "OPS_PORT",
  "OPS_HOST",
  "METRICS_TOKEN",
  "LOG_LEVEL",
  "TETHER_TOKEN",
  "TETHER_SERVER_KEY",
];

const RING_LINES = 200;

/** The `listening` log line of a service, with the ops listener's port (packages/core/src/service.ts). */
const OPS_PORT_LINE = /"ops_port":(\d+)/;

/** A running (or exited) service child process. */
export interface ServiceProcess {
  readonly kind: ServiceKind;
  /** `kind:port`, used in messages. */
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:port` */
  readonly url: string;
  /** `ws://127.0.0.1:port/ws` */
  readonly wsUrl: string;
  /**
   * The ops listener's port (/metrics, /healthz, /readyz), as the process reported it in its
   * `listening` line; known once {@link startService} resolved (throws before).
   */
  readonly opsPort: number;
  /** `http://127.0.0.1:opsPort`: where to scrape /metrics. */
  readonly opsUrl: string;
  /** The service's own pid (node itself, not a wrapper): a signal to it reaches the service. */
  readonly pid: number;
  /** The environment it was started with (Tether variables only, as passed plus defaults). */
  readonly env: Readonly<Record<string, string>>;
  /** How it exited, once it has. */
  readonly exitInfo: ExitInfo | undefined;
  /** The last 200 lines of stdout and stderr (stderr lines prefixed `[stderr] `), joined. */
  output(): string;
  /** The same lines as an array. */
  lines(): string[];
  /**
   * Resolves with the first output line matching `match`. Lines already in the buffer count
   * unless `fresh` is set. Rejects on timeout (default 10 s) or if the process exits first.
   */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number, options?: { fresh?: boolean }): Promise<string>;
  /** Resolves when the process exits; rejects after `timeoutMs` (default 10 s) with its output tail. */
  waitForExit(timeoutMs?: number): Promise<ExitInfo>;
  /** Sends `signal` (default SIGTERM) and awaits the exit (bounded like {@link waitForExit}). */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  /** `kill -9`: no shutdown code runs, no close frames are sent. */
  kill9(): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if still running after `graceMs` (default 5 s). Never rejects. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/**
 * How long a service may take to answer `/readyz` 200. A start costs about 1.5 s of CPU (tsx
 * compiling the sources; measured on the api); on this 2-core machine shared with other suites
 * (load average 20) an api took over 20 s, the old bound, while three more services started beside
 * it. A deadline for something that does happen, not a target: generous.
 */
export const READY_TIMEOUT_MS = 60_000;

/** Options of {@link spawnService} and {@link startService}. */
export interface ServiceOptions {
  /** Wait for `GET /readyz` 200; default true. False returns right after spawning (start-up failure tests). */
  waitReady?: boolean;
  /** Readiness deadline, ms; default {@link READY_TIMEOUT_MS}. */
  readyTimeoutMs?: number;
  /**
   * Node's arguments instead of `--import tsx <entry>`: e.g. `["--enable-source-maps",
   * "services/hub/dist/main.js"]` to run the built JavaScript (relative paths from the repo root).
   */
  nodeArgs?: readonly string[];
}

/**
 * Starts a service and resolves once `GET /readyz` answers 200. `env` must contain REDIS_URL
 * (from {@link startTestRedis}); the default 127.0.0.1:6379 is never used by tests. PORT is
 * chosen free unless given (to restart a node on the same port). Defaults: NODE_ENV=test,
 * HOST=127.0.0.1, LOG_LEVEL=info.
 */
export async function startService(kind: ServiceKind, env: Record<string, string>, options: ServiceOptions = {}): Promise<ServiceProcess> {
  if (options.waitReady === false) return spawnService(kind, env, options);
  const fixedPort = env.PORT !== undefined;
  for (let attempt = 1; ; attempt++) {
    const service = await spawnService(kind, env, options);
    try {
      await waitForReady(service, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
      // Printed (at info) right after the listeners are bound, so it is there or on its way.
      if (["info", "debug", "trace"].includes(service.env.LOG_LEVEL ?? "info")) await service.waitForLine(OPS_PORT_LINE, 10_000);
      return service;
    } catch (err) {
      await service.stop();
      // Another process can take the free port before the service binds it: only then try another.
      const portLost = /EADDRINUSE/.test(service.output());
      if (!portLost || fixedPort || attempt >= 3) throw err;
    }
  }
}

/**
 * Starts a service without waiting for readiness: for tests of start-up itself (a bad env must
 * exit non-zero naming the variable: `await (await spawnService("api", env)).waitForExit()`).
 */
export async function spawnService(
  kind: ServiceKind,
  env: Record<string, string>,
  options: Pick<ServiceOptions, "nodeArgs"> = {},
): Promise<ServiceProcess> {
  if (env.REDIS_URL === undefined) {
    throw new Error(`startService(${kind}): pass REDIS_URL (from startTestRedis()); tests never use the default Redis`);
  }
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort();
  // OPS_PORT=0: a free port for the ops listener too, read back from the `listening` line.
  const childEnv: Record<string, string> = {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    OPS_PORT: "0",
    ...env,
    PORT: String(port),
  };
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const name of TETHER_VARS) delete inherited[name];
  const entry = path.join(ROOT, SERVICE_ENTRIES[kind]);
  // Plain node with tsx as a loader, not the tsx CLI: the CLI runs the script in a second
  // process, so a SIGKILL to the pid we know would leave the real service running.
  const args = options.nodeArgs ?? ["--import", "tsx", entry];
  const child = spawnOwned(process.execPath, args, { cwd: ROOT, env: { ...inherited, ...childEnv } });
  return wrapService(kind, port, childEnv, child);
}

/** Polls `GET /readyz` until 200 (every 50 ms, bounded), failing early if the process exits. */
export async function waitForReady(service: ServiceProcess, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (service.exitInfo) {
      throw new Error(`${service.name} exited (${describeExit(service.exitInfo)}) before it was ready:\n${tail(service.lines())}`);
    }
    try {
      const res = await request(`${service.url}/readyz`, { timeoutMs: 1000 });
      if (res.status === 200) return;
      last = `${res.status} ${res.text.slice(0, 200)}`;
    } catch (err) {
      last = String(err);
    }
    await delay(50);
  }
  throw new TimeoutError(`${service.name} not ready after ${timeoutMs} ms (last /readyz: ${last}); output:\n${tail(service.lines())}`);
}

function wrapService(kind: ServiceKind, port: number, env: Record<string, string>, child: OwnedChild): ServiceProcess {
  const name = `${kind}:${port}`;
  const ring: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let opsPort: number | undefined;
  const verbose = process.env.TETHER_TEST_VERBOSE === "1";
  readLines(child.child, (raw, stream) => {
    const line = stream === "stderr" ? `[stderr] ${raw}` : raw;
    ring.push(line);
    if (ring.length > RING_LINES) ring.shift();
    const ops = opsPort === undefined ? OPS_PORT_LINE.exec(raw) : null;
    if (ops) opsPort = Number(ops[1]);
    if (verbose) process.stderr.write(`[${name}] ${line}\n`);
    for (const watcher of watchers) watcher(line);
  });
  const exitedOrSpawnError = child.exited.catch((err: unknown): ExitInfo => {
    ring.push(`[harness] spawn failed: ${String(err)}`);
    return { code: null, signal: null };
  });
  // A service that dies on its own (a crash) makes later tests fail with ECONNREFUSED and no
  // clue; say so at once, with its last lines, unless the test exitExpected it or awaits its exit.
  let exitExpected = false;
  void exitedOrSpawnError.then((info) => {
    if (!exitExpected)
      process.stderr.write(
        `\n[harness] ${name} (pid ${child.pid}) exited by itself (${describeExit(info)}); last lines:\n${tail(ring, 30)}\n\n`,
      );
  });
  const send = (signal: NodeJS.Signals): void => {
    exitExpected = true;
    signalOwned(child, signal);
  };

  const waitForExit = (timeoutMs = 10_000): Promise<ExitInfo> => {
    exitExpected = true;
    return withTimeout(exitedOrSpawnError, timeoutMs, () => `${name} (pid ${child.pid}) did not exit; output:\n${tail(ring)}`);
  };

  const service: ServiceProcess = {
    kind,
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    get opsPort() {
      if (opsPort === undefined) throw new Error(`${name} has not reported its ops port (yet): await startService()`);
      return opsPort;
    },
    get opsUrl() {
      return `http://127.0.0.1:${service.opsPort}`;
    },
    pid: child.pid,
    env,
    get exitInfo() {
      return child.exitInfo;
    },
    output: () => ring.join("\n"),
    lines: () => [...ring],
    waitForLine(match, timeoutMs = 10_000, options = {}) {
      const test = typeof match === "function" ? match : (line: string) => match.test(line);
      if (!options.fresh) {
        const seen = ring.find(test);
        if (seen !== undefined) return Promise.resolve(seen);
      }
      let watcher: ((line: string) => void) | undefined;
      const found = new Promise<string>((resolve, reject) => {
        watcher = (line) => {
          if (test(line)) resolve(line);
        };
        watchers.add(watcher);
        void exitedOrSpawnError.then((info) =>
          reject(new Error(`${name} exited (${describeExit(info)}) before printing ${String(match)}:\n${tail(ring)}`)),
        );
      });
      return withTimeout(found, timeoutMs, () => `${name} printed no line matching ${String(match)}; output:\n${tail(ring)}`).finally(
        () => watcher && watchers.delete(watcher),
      );
    },
    waitForExit,
    kill(signal = "SIGTERM", timeoutMs = 10_000) {
      send(signal);
      return waitForExit(timeoutMs);
    },
    kill9() {
      send("SIGKILL");
      return waitForExit();
    },
    async stop(graceMs = 5000) {
      send("SIGTERM");
      try {
        return await waitForExit(graceMs);
      } catch {
        send("SIGKILL");
        return exitedOrSpawnError;
      }
    },
  };
  return service;
}

function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
}
