/**
 * CONTRACT §7: LOG_PARTITIONS is fixed when a deployment first starts. checkPartitionCount
 * stores it at the first start (SET NX of `<global prefix>:log-partitions`), accepts the same
 * count again, and refuses a different one naming LOG_PARTITIONS and both values. On a real Redis.
 */
import type { Redis } from "ioredis";
import { ConfigError, checkPartitionCount, createPartitionedKeys, loadConfig } from "../src";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = newRedisClient(server.url);
});

afterAll(async () => {
  if (redis) await closeClient(redis);
  await server?.stop();
});

test("the config takes LOG_PARTITIONS 1..256, default 1", () => {
  expect(loadConfig({}).LOG_PARTITIONS).toBe(1);
  expect(loadConfig({ LOG_PARTITIONS: "8" }).LOG_PARTITIONS).toBe(8);
  for (const bad of ["0", "257", "1.5", "x"]) expect(() => loadConfig({ LOG_PARTITIONS: bad })).toThrow(/LOG_PARTITIONS/);
});

test("the first start stores the count, the same count starts again, a changed one is refused naming both", async () => {
  const prefix = server.newPrefix();
  const keys = createPartitionedKeys(prefix, 8);
  await checkPartitionCount(redis, keys, 8);
  expect(await redis.get(`${prefix}:log-partitions`)).toBe("8");
  await checkPartitionCount(redis, createPartitionedKeys(prefix, 8), 8);
  const refused = await checkPartitionCount(redis, createPartitionedKeys(prefix, 4), 4).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(ConfigError);
  expect((refused as ConfigError).issues).toEqual([
    "LOG_PARTITIONS: this deployment was started with LOG_PARTITIONS=8 and cannot change it; this process has LOG_PARTITIONS=4",
  ]);
  expect(await redis.get(`${prefix}:log-partitions`)).toBe("8");
});

test("one partition (the default) keeps the global prefix untagged; on a cluster the key is under {g}", async () => {
  const prefix = server.newPrefix();
  await checkPartitionCount(redis, createPartitionedKeys(prefix, 1), 1);
  expect(await redis.get(`${prefix}:log-partitions`)).toBe("1");
  await expect(checkPartitionCount(redis, createPartitionedKeys(prefix, 2), 2)).rejects.toThrow(/LOG_PARTITIONS=1 .*LOG_PARTITIONS=2/);
  expect(createPartitionedKeys(prefix, 1, { cluster: true }).prefix).toBe(`${prefix}:{g}`);
});

test("a stored value that is no count is refused, not overwritten", async () => {
  const prefix = server.newPrefix();
  await redis.set(`${prefix}:log-partitions`, "lots");
  await expect(checkPartitionCount(redis, createPartitionedKeys(prefix, 1), 1)).rejects.toThrow(/LOG_PARTITIONS: .* not a partition count/);
  expect(await redis.get(`${prefix}:log-partitions`)).toBe("lots");
});
