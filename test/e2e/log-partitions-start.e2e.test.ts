/**
 * CONTRACT §7: LOG_PARTITIONS is fixed when a deployment first starts. A real worker process
 * stores the count at its first start; a process of the same deployment with another count exits
 * 1 before listening, naming LOG_PARTITIONS and both values.
 */
import type { Redis } from "ioredis";
import { spawnService, startService } from "../support/processes";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../support/redis";
import { isPortClosed } from "../support/ports";

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
