/**
 * A throwaway Redis per test suite (DESIGN "Rules of the house"):
 * - `REDIS_URL` set → that server, shared: a random key prefix per suite, never FLUSHDB, never stopped;
 * - else a Docker engine answers → `redis:7-alpine` through testcontainers;
 * - else the local `redis-server` binary on a free port, in a temp dir, without persistence.
 * `TETHER_TEST_REDIS=binary|container` forces one of the last two.
 */
import { randomBytes } from "node:crypto";
import type { Backend, TestRedisKind } from "./redis-backend";
import { binaryBackend, findOnPath } from "./redis-binary";
import { closeClient, newRedisClient } from "./redis-client";
import { containerBackend, dockerEngineAnswers } from "./redis-container";

export type { TestRedisKind } from "./redis-backend";
export { closeClient, newRedisClient, waitForRedisReady } from "./redis-client";
export { dockerEngineAnswers } from "./redis-container";

// After testcontainers failed once in this suite (e.g. the image cannot be pulled), use the binary.
let containerFailed = false;

/** A Redis for one test suite. */
export interface TestRedis {
  /** `redis://host:port`; stays the same across {@link TestRedis.restart}. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** A random key prefix for this suite (`t` + 12 hex): pass it as `REDIS_PREFIX`. */
  readonly prefix: string;
  readonly kind: TestRedisKind;
  /** True when this suite owns the server (not `REDIS_URL`): only then may it stop, restart or reconfigure it. */
  readonly owned: boolean;
  /** pid of the `redis-server` child (binary kind, while running); undefined otherwise. */
  readonly pid: number | undefined;
  /** Another random prefix, for tests that need isolation from each other within the suite (cleaned up by `stop` too). */
  newPrefix(): string;
  /**
   * Stops the server (outage tests; owned servers only, else throws "cannot restart a shared Redis").
   * Without persistence the data is gone when it comes back, like a Redis that lost its data,
   * unless `keepData` (the server SAVEs first and loads the dump at start).
   */
  stopServer(options?: { keepData?: boolean }): Promise<void>;
  /** Starts a stopped server again on the same host and port, and resolves when it accepts commands. */
  startServer(): Promise<void>;
  /** `stopServer(options)` then `startServer()`. */
  restart(options?: { keepData?: boolean }): Promise<void>;
  /**
   * Ends the suite's use of Redis: stops and removes an owned server (and its temp dir); for a
   * shared one, deletes only the keys under this suite's prefixes. Idempotent.
   */
  stop(): Promise<void>;
}

/** Starts (or borrows, with `REDIS_URL`) a Redis for this suite. Call `stop()` in `afterAll`. */
export async function startTestRedis(): Promise<TestRedis> {
  const sharedUrl = process.env.REDIS_URL;
  if (sharedUrl) return wrap(sharedBackend(sharedUrl));
  const forced = process.env.TETHER_TEST_REDIS;
  if (forced !== undefined && forced !== "" && forced !== "binary" && forced !== "container") {
    throw new Error(`TETHER_TEST_REDIS must be "binary" or "container", got "${forced}"`);
  }
  if (forced === "container") return wrap(await containerBackend());
  if (forced !== "binary" && !containerFailed && (await dockerEngineAnswers())) {
    try {
      return wrap(await containerBackend());
    } catch (err) {
      // e.g. the image cannot be pulled here: fall back once, say so, and do not try again in this suite.
      containerFailed = true;
      process.stderr.write(`[test redis] testcontainers failed (${String(err)}); using the local redis-server binary\n`);
    }
  }
  if (!findOnPath("redis-server")) {
    throw new Error(
      "No Redis for tests: REDIS_URL is not set, no Docker engine answers, and `redis-server` is not installed. " +
        "Install redis-server (Debian: `apt-get install -y redis-server`; `npm test` does this when run as root) or set REDIS_URL.",
    );
  }
  return wrap(await binaryBackend());
}

/** A random key prefix: `t` + 12 hex digits. */
export function randomPrefix(): string {
  return `t${randomBytes(6).toString("hex")}`;
}

// ---------------------------------------------------------------------------------------------

function wrap(backend: Backend): TestRedis {
  const url = `redis://${backend.host}:${backend.port}`;
  const prefixes = [randomPrefix()];
  let stopped: Promise<void> | undefined;
  const owned = backend.kind !== "shared";
  const guard = (): void => {
    if (!owned) throw new Error("cannot restart a shared Redis (REDIS_URL is set); only a suite's own throwaway server can be stopped");
    if (stopped) throw new Error("this test Redis was already stopped for good (stop())");
  };
  return {
    url,
    host: backend.host,
    port: backend.port,
    prefix: prefixes[0]!,
    kind: backend.kind,
    owned,
    get pid() {
      return backend.pid();
    },
    newPrefix() {
      const prefix = randomPrefix();
      prefixes.push(prefix);
      return prefix;
    },
    async stopServer(options = {}) {
      guard();
      await backend.stopServer(options.keepData ?? false);
    },
    async startServer() {
      guard();
      await backend.startServer();
    },
    async restart(options = {}) {
      guard();
      await backend.stopServer(options.keepData ?? false);
      await backend.startServer();
    },
    stop() {
      stopped ??= backend.dispose(prefixes);
      return stopped;
    },
  };
}

function sharedBackend(url: string): Backend {
  const parsed = new URL(url);
  return {
    kind: "shared",
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    pid: () => undefined,
    stopServer: () => Promise.reject(new Error("cannot restart a shared Redis")),
    startServer: () => Promise.reject(new Error("cannot restart a shared Redis")),
    async dispose(prefixes) {
      // Only this suite's keys; never FLUSHDB a Redis we do not own.
      const client = newRedisClient(url, { maxRetriesPerRequest: 1 });
      try {
        for (const prefix of prefixes) {
          let cursor = "0";
          do {
            const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
            if (keys.length > 0) await client.unlink(...keys);
            cursor = next;
          } while (cursor !== "0");
        }
      } finally {
        await closeClient(client);
      }
    },
  };
}
