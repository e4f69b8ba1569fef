import type { Redis } from "ioredis";
import { closeClient, dockerEngineAnswers, newRedisClient, startTestRedis, type TestRedis } from "./redis";
import { isPortClosed } from "./ports";

/** Resolves on the client's next 'ready' (it reconnected and can take commands). */
function nextReady(client: Redis): Promise<void> {
  return new Promise((resolve) => client.once("ready", () => resolve()));
}

describe("startTestRedis", () => {
  let redis: TestRedis;
  let client: Redis;
  let startupMs: number;

  beforeAll(async () => {
    const started = Date.now();
    redis = await startTestRedis();
    startupMs = Date.now() - started;
    client = newRedisClient(redis.url);
  });

  afterAll(async () => {
    await closeClient(client);
    await redis.stop();
  });

  test("without a Docker engine it falls back to the binary fast (the engine check is bounded to 3 s)", async () => {
    if (process.env.REDIS_URL) {
      expect(redis.kind).toBe("shared");
      return;
    }
    if (await dockerEngineAnswers()) {
      expect(redis.kind).toBe(process.env.TETHER_TEST_REDIS === "binary" ? "binary" : "container");
      return;
    }
    expect(redis.kind).toBe("binary");
    expect(redis.pid).toEqual(expect.any(Number));
    // What this guards against is a check that hangs (a docker CLI stuck on a dead socket), not
    // slowness: 10x the 3 s bound (3.5 s left 0.5 s for a redis-server start on a shared 2-core machine).
    expect(startupMs).toBeLessThan(30_000);
  });

  test("serves SET/GET under the suite's random prefix, never the shared 6379 unless REDIS_URL says so", async () => {
    expect(redis.prefix).toMatch(/^t[0-9a-f]{12}$/);
    if (!process.env.REDIS_URL) {
      expect(redis.owned).toBe(true);
      expect(redis.port).not.toBe(6379);
    }
    await client.set(`${redis.prefix}:greeting`, "hello");
    expect(await client.get(`${redis.prefix}:greeting`)).toBe("hello");
  });

  test("restart: same URL, a client reconnects by itself; data survives only with keepData", async () => {
    if (!redis.owned) {
      await expect(redis.restart()).rejects.toThrow("cannot restart a shared Redis");
      return;
    }
    const key = `${redis.prefix}:restart`;
    await client.set(key, "before");
    const firstPid = redis.pid;

    let reconnected = nextReady(client);
    await redis.restart({ keepData: true });
    await reconnected;
    expect(await client.get(key)).toBe("before");
    if (redis.kind === "binary") {
      expect(redis.pid).toEqual(expect.any(Number));
      expect(redis.pid).not.toBe(firstPid);
      expect(() => process.kill(firstPid!, 0)).toThrow(); // the old server is gone
    }

    reconnected = nextReady(client);
    await redis.stopServer();
    expect(await isPortClosed(redis.port, redis.host)).toBe(true);
    await redis.startServer();
    await reconnected;
    expect(await client.get(key)).toBeNull(); // no persistence: like a Redis that lost its data
  });
});

describe("two suites", () => {
  test("get separate servers (or prefixes, with REDIS_URL), and stop() frees the port", async () => {
    const [a, b] = await Promise.all([startTestRedis(), startTestRedis()]);
    const ca = newRedisClient(a.url);
    const cb = newRedisClient(b.url);
    try {
      expect(a.prefix).not.toBe(b.prefix);
      await ca.set(`${a.prefix}:k`, "a");
      await cb.set(`${b.prefix}:k`, "b");
      if (a.owned && b.owned) {
        expect(a.port).not.toBe(b.port);
        expect(await cb.get(`${a.prefix}:k`)).toBeNull(); // a's data is not on b's server
        expect(await cb.dbsize()).toBe(1);
      }
    } finally {
      await closeClient(ca);
      await closeClient(cb);
      await Promise.all([a.stop(), b.stop()]);
    }
    if (a.owned) {
      expect(await isPortClosed(a.port, a.host)).toBe(true);
      expect(await isPortClosed(b.port, b.host)).toBe(true);
      if (a.pid !== undefined) throw new Error("a stopped binary server still reports a pid");
    } else {
      // Shared Redis: only this suite's keys were removed, nothing else touched.
      const probe = newRedisClient(a.url);
      try {
        expect(await probe.exists(`${a.prefix}:k`, `${b.prefix}:k`)).toBe(0);
      } finally {
        await closeClient(probe);
      }
    }
  });
});
