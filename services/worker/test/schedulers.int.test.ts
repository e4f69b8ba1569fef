/**
 * The worker's job schedulers against a real Redis. Each iteration of BullMQ's `sweep` scheduler
 * is added when the one before it starts; when that write is lost (a master failover promoted a
 * replica that never got it) the chain ends, and with it every dead-hub sweep: a `kill -9` of a
 * hub then leaves its hosts online for ever. The worker upserts its schedulers again every
 * max(1 s, 4 × SWEEP_INTERVAL_MS), so a lost iteration is replaced.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QueueName, createKeys, createLogger, createMetrics, loadConfig, queuePrefix, systemClock } from "@tether/core";
import { createWorker, type TetherWorker } from "../src/worker";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";
import { delay, withTimeout } from "../../../test/support/wait";

let server: TestRedis;
let command: Redis;
let bullmq: Redis;
let worker: TetherWorker | undefined;
let queue: Queue | undefined;

beforeAll(async () => {
  server = await startTestRedis();
  command = newRedisClient(server.url);
  bullmq = newRedisClient(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await worker?.close();
  await queue?.close();
  await closeClient(command);
  await closeClient(bullmq);
  await server?.stop();
});

/** Resolves once `check` holds, polling Redis every 20 ms; fails after `ms` saying what it waited for. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!(await check())) await delay(20);
    })(),
    ms,
    () => what,
  );
}

test("a sweep iteration lost from Redis is added again: a hub that dies afterwards is still swept", async () => {
  const prefix = server.newPrefix();
  const config = loadConfig({ REDIS_URL: server.url, REDIS_PREFIX: prefix, NODE_ID: "w1", OFFLINE_TIMEOUT_MS: "800" });
  expect(config.SWEEP_INTERVAL_MS).toBe(200); // so the schedulers are upserted again every 1 s
  const log = createLogger({ level: "silent", nodeId: "w1", service: "worker" });
  worker = createWorker({ config, redis: { command, bullmq }, clock: systemClock, log, metrics: createMetrics("worker", "w1") });
  await worker.start();
  const keys = createKeys(prefix);
  queue = new Queue(QueueName.PRESENCE, { connection: bullmq, prefix: queuePrefix(keys.bullPrefix, QueueName.PRESENCE, bullmq) });

  // A hub in the set without a liveness key is dead: the sweep forgets it.
  await command.sadd(keys.hubs, "ghost-1");
  await until(async () => !(await command.sismember(keys.hubs, "ghost-1")), 5_000, "the first sweep to forget ghost-1");

  // Lose the chain: every pending iteration of `sweep` goes, as a failover can lose the one write
  // that added it (BullMQ refuses to remove a scheduler's job, so its keys go directly). An
  // iteration that was being started meanwhile has added its successor by the time it is listed,
  // so a listing that comes back empty means no iteration is left.
  const q = queue;
  const pending = async () => (await q.getJobs(["delayed", "waiting", "prioritized"])).filter((j) => j.name === "sweep");
  let lost = 0;
  for (let jobs = await pending(); jobs.length > 0; jobs = await pending()) {
    for (const job of jobs) {
      const id = job.id!;
      const replies = await bullmq
        .multi()
        .zrem(q.keys.delayed!, id)
        .lrem(q.keys.wait!, 0, id)
        .zrem(q.keys.prioritized!, id)
        .del(q.toKey(id))
        .exec();
      // The job's own hash (the DEL) is not counted: only where it was pending.
      lost += (replies ?? []).slice(0, 3).reduce((n, [, removed]) => n + Number(removed), 0);
    }
  }
  expect(lost).toBeGreaterThan(0);

  // A hub that dies now is still swept: within the refresh period (1 s) plus a sweep interval;
  // 10 s is the generous bound.
  await command.sadd(keys.hubs, "ghost-2");
  await until(async () => !(await command.sismember(keys.hubs, "ghost-2")), 10_000, "a sweep to forget ghost-2 after the chain was lost");
  expect((await pending()).length).toBeGreaterThan(0);
}, 30_000);
