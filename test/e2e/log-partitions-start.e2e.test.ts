/**
 * CONTRACT §7: LOG_PARTITIONS is fixed when a deployment first starts. A real worker process
 * stores the count at its first start; a process of the same deployment with another count exits
 * 1 before listening, naming LOG_PARTITIONS and both values.
 */
import type { Redis } from "ioredis";
import { spawnService, startService } from "../support/processes";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../support/redis";
import { isPortClosed } from "../support/ports";
import { apiCall, login } from "../support/clients";
import { startTestCluster, type TestCluster } from "../support/redis-cluster";

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startTestRedis();
  client = newRedisClient(redis.url);
});

afterAll(async () => {
  if (client) await closeClient(client);
  await redis?.stop();
});

test("the first start stores LOG_PARTITIONS; a start with another count is refused, naming both", async () => {
  const prefix = redis.newPrefix();
  const first = await startService("worker", { REDIS_URL: redis.url, REDIS_PREFIX: prefix });
  expect(await client.get(`${prefix}:log-partitions`)).toBe("1");
  expect((await first.kill()).code).toBe(0);

  const changed = await spawnService("worker", { REDIS_URL: redis.url, REDIS_PREFIX: prefix, LOG_PARTITIONS: "8" });
  const exit = await changed.waitForExit(60_000);
  expect(exit.code).toBe(1);
  expect(changed.output()).toMatch(/LOG_PARTITIONS: this deployment was started with LOG_PARTITIONS=1 .* LOG_PARTITIONS=8/);
  expect(await isPortClosed(changed.port)).toBe(true);
  expect(await client.get(`${prefix}:log-partitions`)).toBe("1");
});

describe("on a real 3-master Redis Cluster", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(() => cluster?.stop());

  test("the api and worker start from a redis+cluster:// URL with LOG_PARTITIONS=8, an admin logs in, reads the session and the hosts; the count is stored under {g}", async () => {
    const env = { REDIS_URL: cluster.url, REDIS_PREFIX: cluster.prefix, LOG_PARTITIONS: "8" };
    const api = await startService("api", { ...env, ADMIN_USER: "admin", ADMIN_PASSWORD: "cluster-admin-pw" });
    const worker = await startService("worker", env);
    try {
      const cookie = await login(api.url, "admin", "cluster-admin-pw");
      expect((await apiCall(api.url, cookie, "GET", "/api/session")).status).toBe(200);
      expect((await apiCall(api.url, cookie, "GET", "/api/hosts")).status).toBe(200);
      const seed = newRedisClient(`redis://${cluster.url.slice("redis+cluster://".length).split(",")[0]}`);
      try {
        const key = `${cluster.prefix}:{g}:log-partitions`;
        const slot = Number(await seed.call("CLUSTER", "KEYSLOT", key));
        const [host, port] = ((await seed.call("CLUSTER", "SLOTS")) as Array<[number, number, [string, number]]>).find(
          ([a, b]) => a <= slot && slot <= b,
        )![2];
        const owner = newRedisClient(`redis://${host}:${port}`);
        expect(await owner.get(key)).toBe("8");
        await closeClient(owner);
      } finally {
        await closeClient(seed);
      }
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });
});
