/**
 * Tether's Redis Cluster clients across a failover, on a real cluster with a replica per master.
 * The `command` client auto-pipelines; ioredis does not retry a pipeline whose replies mix a MOVED
 * with anything else, and refreshed its slot map only on a retried MOVED, so after a master was
 * killed and its replica took over, every call to the moved slots failed with MOVED for ever
 * (seen in cluster.e2e: the worker's sweeps failing and hanging for the rest of the run).
 */
import { clusterTarget, closeRedis, createClusterClient, createLogger, partitionTag, whenReady } from "../src";
import type { Cluster } from "ioredis";
import { startTestCluster, type TestCluster } from "../../../test/support/redis-cluster";
import { delay, withTimeout } from "../../../test/support/wait";

const log = createLogger({ level: "silent", nodeId: "test", service: "cluster-failover" });
let cluster: TestCluster;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startTestCluster({ replicas: 1 });
  redis = createClusterClient(clusterTarget(cluster.url), "command", log);
  await whenReady(redis);
}, 60_000);
afterAll(async () => {
  if (redis) await closeRedis(redis);
  await cluster?.stop();
});

/** One batch as a hub makes them: writes and reads to every partition's slot at once (auto-pipelined per node). Resolves with the errors. */
async function batch(n: number): Promise<string[]> {
  const calls = Array.from({ length: 8 }, (_, p) => {
    const tag = `${cluster.prefix}:{${partitionTag(p, 8)}}`;
    return [redis.incr(`${tag}:n`), redis.get(`${tag}:n`), redis.hset(`${tag}:h`, "round", String(n))];
  }).flat();
  const settled = await Promise.allSettled(calls);
  return settled.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
}

test("after a master fails over, the auto-pipelined command client serves the moved slots again (no MOVED for ever)", async () => {
  expect(await batch(0)).toEqual([]);
  await cluster.killMaster(1);
  await cluster.waitUntilServing(30_000);
  // Within the slot map's refresh (1 s); 10 s is the generous bound. Each batch is awaited before the next.
  let seen: string[] = [];
  let rounds = 0;
  await withTimeout(
    (async () => {
      for (;;) {
        seen = await batch(++rounds);
        if (seen.length === 0) return;
        await delay(100);
      }
    })(),
    10_000,
    () => `still failing after ${rounds} batches: ${[...new Set(seen)].join("; ")}`,
  );
  // And it stays healthy: every partition's counter answers.
  expect(await batch(rounds + 1)).toEqual([]);
}, 60_000);
