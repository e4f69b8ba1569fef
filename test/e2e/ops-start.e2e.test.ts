/**
 * Issue 7, one command on a laptop: `npm start` itself (npm → tsx → scripts/start.ts), run from
 * this checkout as a newcomer runs it — no users, no ADMIN_*, no SESSION_SECRET, no NODE_ENV — and
 * a bad configuration exiting non-zero with the variable's name, for every kind of process.
 *
 * Redis: always the suite's throwaway server through REDIS_URL, with a fresh prefix. The path
 * where REDIS_URL is unset (start.ts starts its own redis-server, or says how to get one) is not
 * run here: it would first try 127.0.0.1:6379, and a test must not touch a Redis it does not own.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { readLines, spawnOwned, type ExitInfo, type OwnedChild } from "../support/children";
import { spawnService, startService, type ServiceKind } from "../support/processes";
import { startTestRedis, type TestRedis } from "../support/redis";
import { apiCall, connectRegisteredAgent, createHost, login, request } from "../support/clients";
import { freePort, isPortClosed } from "../support/ports";
import { delay, tail, withTimeout } from "../support/wait";
import { ensureDashboardBuilt } from "../../scripts/dashboard-build";
import { scrape } from "./ops-prometheus";

const ROOT = path.resolve(__dirname, "../..");

let redis: TestRedis;

/**
 * `npm start` runs `scripts/ensure-deps.cjs` first, which runs `npm ci` when node_modules is older
 * than package-lock.json (as after a merge that touched the lockfile). Under a running suite that
 * would delete node_modules beneath every other test, and this suite's deadline would then kill
 * npm ci halfway (seen: every later test file failed with "Cannot find module"). `npm test` runs
 * ensure-deps before Jest; for Jest run by hand, say what to do instead.
 */
function assertDepsCurrent(): void {
  const mtime = (file: string): number => statSync(path.join(ROOT, file), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (mtime("node_modules/.package-lock.json") < mtime("package-lock.json")) {
    throw new Error(
      "node_modules is older than package-lock.json: run `npm ci` (npm test does) before this suite, so npm start does not reinstall under it",
    );
  }
}

beforeAll(async () => {
  assertDepsCurrent();
  // `npm test` builds the dashboard before Jest; a fresh clone has none (web/dist is not in git).
  ensureDashboardBuilt();
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** `npm start` in its own process group, as a terminal runs it; lines of both streams kept. */
function npmStart(env: Record<string, string>): {
  owned: OwnedChild;
  lines: string[];
  waitForLine(re: RegExp, ms?: number): Promise<string>;
} {
  // Only what a fresh shell has, plus `env`: no Tether variable leaks in from the test runner.
  const owned = spawnOwned("npm", ["start"], {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  readLines(owned.child, (line) => {
    lines.push(line);
    if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`[npm start] ${line}\n`);
    for (const w of watchers) w(line);
  });
  const exited = owned.exited.catch((): ExitInfo => ({ code: null, signal: null }));
  return {
    owned,
    lines,
    waitForLine(re, ms = 30_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      let watcher: ((line: string) => void) | undefined;
      const found = new Promise<string>((resolve, reject) => {
        watcher = (line) => re.test(line) && resolve(line);
        watchers.add(watcher);
        void exited.then((info) =>
          reject(new Error(`npm start exited (${JSON.stringify(info)}) before printing ${String(re)}:\n${tail(lines)}`)),
        );
      });
      return withTimeout(found, ms, () => `npm start printed no line matching ${String(re)}:\n${tail(lines)}`).finally(() =>
        watchers.delete(watcher!),
      );
    },
  };
}

/** Polls until nothing accepts on the port any more (the process behind it is gone), bounded. */
async function portClosed(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortClosed(port)) return true;
    await delay(50);
  }
  return false;
}

describe("npm start on a fresh checkout", () => {
  const prefix = () => redis.newPrefix();
  let dataPrefix: string;
  let password: string;

  test("turns ready, prints the admin password once, which logs in; an agent connects and shows online; the dashboard is at /", async () => {
    dataPrefix = prefix();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const opsPort = await freePort();
    const npm = npmStart({
      REDIS_URL: redis.url,
      REDIS_PREFIX: dataPrefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      OPS_PORT: String(opsPort),
    });
    try {
      password = /^\s+password: (\S+)$/.exec(await npm.waitForLine(/^\s+password: \S+$/))![1]!;
      expect(npm.lines).toContainEqual(expect.stringMatching(/^\s+username: admin$/));
      await npm.waitForLine(/"msg":"tether is up"/);
      // No SESSION_SECRET: a random one, and a warning saying what that means.
      expect(npm.lines.join("\n")).toMatch(/SESSION_SECRET is not set/);

      expect((await request(`${url}/readyz`)).json()).toEqual({ status: "ready" });
      const cookie = await login(url, "admin", password);
      const { host, token } = await createHost(url, cookie, "laptop");
      const { agent, hostId } = await connectRegisteredAgent(`ws://127.0.0.1:${port}/ws`, token, { hostname: "laptop.local" });
      expect(hostId).toBe(host.id);
      const listed = (await apiCall(url, cookie, "GET", "/api/hosts")).json<{
        hosts: { id: string; status: string; hostname?: string }[];
      }>();
      expect(listed.hosts).toContainEqual(expect.objectContaining({ id: host.id, status: "online", hostname: "laptop.local" }));

      const page = await request(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers["content-type"]).toMatch(/^text\/html/);
      expect(page.text).toContain("<tether-app>");
      const script = /<script type="module" src="([^"]+)"/.exec(page.text)![1]!;
      const bundle = await request(new URL(script, `${url}/`).toString());
      expect(bundle.status).toBe(200);
      expect(bundle.headers["content-type"]).toMatch(/javascript/);

      // One process is everything: its /metrics has the hub's, the api's and the worker's series.
      const metrics = await scrape(`http://127.0.0.1:${opsPort}`);
      expect(metrics.sum("tether_sockets", { kind: "agent" })).toBe(1);
      expect(metrics.find("tether_queue_depth", { queue: "presence" })).toHaveLength(1);
      expect(metrics.sum("tether_event_append_seconds_count")).toBeGreaterThan(0);
      await agent.close();
    } finally {
      // Ctrl-C: SIGINT to the terminal's process group (npm, its shell, tsx, node).
      try {
        process.kill(-npm.owned.pid, "SIGINT");
      } catch {
        // already gone
      }
    }
    await withTimeout(npm.owned.exited, 10_000, () => `npm start did not exit on SIGINT:\n${tail(npm.lines)}`);
    await npm.waitForLine(/"msg":"shutting down"/, 1000);
    expect(await portClosed(port, 10_000)).toBe(true);
  });

  test("a second start on the same data prints no password, the first one still logs in, and SIGTERM exits 0", async () => {
    const again = await startService("all", { REDIS_URL: redis.url, REDIS_PREFIX: dataPrefix });
    try {
      await again.waitForLine(/"msg":"tether is up"/);
      expect(again.output()).not.toMatch(/password:/);
      expect(await login(again.url, "admin", password)).toMatch(/^tether\.sid=/);
    } finally {
      expect(await again.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    }
  });
});

describe("a bad configuration exits non-zero, naming the variable, before listening", () => {
  const cases: Array<[ServiceKind, Record<string, string>, string]> = [
    ["api", { PORT: "99999" }, "PORT"],
    ["api", { ADMIN_USER: "root" }, "ADMIN_PASSWORD"],
    ["hub", { PING_INTERVAL_MS: "often" }, "PING_INTERVAL_MS"],
    ["hub", { NODE_ENV: "production" }, "SESSION_SECRET"],
    ["worker", { REDIS_URL: "http://127.0.0.1:1" }, "REDIS_URL"],
    ["worker", { LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ["all", { ALLOWED_ORIGINS: "dashboard.example.com" }, "ALLOWED_ORIGINS"],
    ["all", { MAX_MESSAGE_BYTES: "10" }, "MAX_MESSAGE_BYTES"],
  ];

  test.each(cases)("%s with %j", async (kind, bad, variable) => {
    const service = await spawnService(kind, { REDIS_URL: redis.url, REDIS_PREFIX: redis.newPrefix(), ...bad });
    // Exits as soon as the config is read: the deadline only bounds a wait, and a tsx start on a
    // machine running two suites side by side once took past 15 s before it printed anything.
    const exit = await service.waitForExit(60_000);
    expect(exit.code).toBe(1);
    const message = service.lines().find((l) => l.includes("invalid configuration"));
    expect(message).toBeDefined();
    // `tether: invalid configuration:` then one indented line per problem: `NAME: why`.
    expect(service.output()).toMatch(new RegExp(`^\\[stderr\\]\\s+(?:[A-Z_]+, )*${variable}\\b[^:]*: \\S`, "m"));
    // It never listened (unless PORT itself is the bad value, then there is no port to probe).
    if (bad.PORT === undefined) expect(await isPortClosed(service.port)).toBe(true);
  });
});
