/**
 * The worker's job schedulers against a real Redis. Each iteration of BullMQ's `sweep` scheduler
 * is added when the one before it starts; when that write is lost (a master failover promoted a
 * replica that never got it) the chain ends, and with it every dead-hub sweep: a `kill -9` of a
 * hub then leaves its hosts online for ever. The worker upserts its schedulers again every
 * max(1 s, 4 × SWEEP_INTERVAL_MS), so a lost iteration is replaced. And the sweep itself, racing a
 * live hub's beat, must not leave that hub unknown to the next sweep.
 */
import { Queue, QueueEvents, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import {
  QueueName,
  createKeys,
  createLogger,
  createMetrics,
  createStores,
  loadConfig,
  offlineJobId,
  offlineJobOptions,
  queuePrefix,
  systemClock,
  type OfflineCheckJob,
} from "@tether/core";
import { runOfflineCheck, runSweep, type PresenceDeps } from "../src/processors/presence";
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

test("a sweep that forgets a live hub after its beat (they raced): the hub's offline checks put its hosts back, so its death later is swept", async () => {
  const prefix = server.newPrefix();
  const config = loadConfig({ REDIS_URL: server.url, REDIS_PREFIX: prefix, NODE_ID: "w2", OFFLINE_TIMEOUT_MS: "800", LOG_PARTITIONS: "4" });
  const log = createLogger({ level: "silent", nodeId: "w2", service: "worker" });
  const metrics = createMetrics("worker", "w2");
  const { keys, logs, hosts, commands } = createStores(command, config, metrics, { log });
  const presenceQueue = new Queue<OfflineCheckJob>(QueueName.PRESENCE, {
    connection: bullmq,
    prefix: queuePrefix(keys.bullPrefix, QueueName.PRESENCE, bullmq),
  });
  const deps: PresenceDeps = {
    redis: command,
    keys,
    hosts,
    commands,
    logs,
    presenceQueue,
    clock: systemClock,
    log,
    metrics,
    offlineTimeoutMs: config.OFFLINE_TIMEOUT_MS,
    hubTtlMs: config.HUB_TTL_MS,
    logMaxAgeMs: config.LOG_MAX_AGE_MS,
  };
  try {
    const node = "hub-x";
    const held: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { host } = await hosts.create(`h${i}`, Date.now());
      await hosts.update(host.id, (h) => ({ host: { ...h, status: "online" }, meta: { epoch: 1, node } }));
      held.push(host.id);
    }
    expect(new Set(held.map((id) => keys.forHost(id).hubHosts(node))).size).toBeGreaterThan(1); // several partitions
    // What the race left: the hub is alive (it beat after the sweep read its key), but the sweep
    // then removed it from the set and its hosts from its hashes; each host has its check.
    await command.set(keys.hubAlive(node), "1", "PX", 60_000);
    const check = (hostId: string) => runOfflineCheck(deps, { data: { host_id: hostId, epoch: 1, node } } as Job);
    for (const id of held) expect(await check(id)).toBe("skipped");
    expect(await command.sismember(keys.hubs, node)).toBe(1);
    for (const id of held) expect(await command.hget(keys.forHost(id).hubHosts(node), id)).toBe("1");

    // Now it dies (its key lapses): the sweep finds it, with every host, and their checks turn them offline.
    await command.del(keys.hubAlive(node));
    expect((await runSweep(deps)).deadHubs).toEqual([node]);
    for (const id of held) {
      const job = await presenceQueue.getJob(offlineJobId(id, 1));
      expect(job?.data).toEqual({ host_id: id, epoch: 1, node });
      expect(await check(id)).toBe("offline");
      expect((await hosts.get(id))?.status).toBe("offline");
    }
    // A host that reconnected elsewhere meanwhile (newer epoch) is not put back in the old hub's set.
    const { host: moved } = await hosts.create("moved", Date.now());
    await hosts.update(moved.id, (h) => ({ host: { ...h, status: "online" }, meta: { epoch: 2, node: "hub-y" } }));
    await command.set(keys.hubAlive(node), "1", "PX", 60_000);
    expect(await runOfflineCheck(deps, { data: { host_id: moved.id, epoch: 1, node } } as Job)).toBe("skipped");
    expect(await command.hget(keys.forHost(moved.id).hubHosts(node), moved.id)).toBeNull();
  } finally {
    await presenceQueue.close();
  }
});

test("an offline check that fails (Redis failing over) is tried again, and one that failed for good does not block the same check later", async () => {
  const prefix = server.newPrefix();
  const connection = bullmq;
  const name = "offline-retry";
  const q = new Queue(name, { connection, prefix });
  let calls = 0;
  let failFirst = 2;
  const eventsClient = newRedisClient(server.url, { maxRetriesPerRequest: null });
  const outcomes = new QueueEvents(name, { connection: eventsClient, prefix });
  await outcomes.waitUntilReady();
  const w = new Worker(
    name,
    async () => {
      calls++;
      if (failFirst-- > 0) throw new Error("Connection is closed.");
      return "offline";
    },
    { connection, prefix },
  );
  try {
    const hostId = "00000000-0000-4000-8000-000000000001";
    const done = (id: string) =>
      new Promise<string>((resolve) => {
        outcomes.on("completed", ({ jobId }) => jobId === id && resolve("completed"));
        outcomes.on("failed", ({ jobId, prev }) => jobId === id && prev !== "delayed" && resolve("failed"));
      });
    // Fails twice, then runs: retried with backoff under the same id.
    let finished = done(offlineJobId(hostId, 1));
    await q.add("offline", { host_id: hostId, epoch: 1 }, offlineJobOptions(hostId, 1, 0));
    expect(await withTimeout(finished, 10_000, () => `calls ${calls}`)).toBe("completed");
    expect(calls).toBe(3);

    // Fails every time: given up after its attempts, and not kept, so the same check can be queued again.
    failFirst = Infinity;
    calls = 0;
    finished = done(offlineJobId(hostId, 2));
    await q.add("offline", { host_id: hostId, epoch: 2 }, offlineJobOptions(hostId, 2, 0));
    expect(await withTimeout(finished, 20_000, () => `calls ${calls}`)).toBe("failed");
    expect(calls).toBe(offlineJobOptions(hostId, 2, 0).attempts);
    expect(await q.getJob(offlineJobId(hostId, 2))).toBeUndefined();
    failFirst = 0;
    finished = done(offlineJobId(hostId, 2));
    await q.add("offline", { host_id: hostId, epoch: 2 }, offlineJobOptions(hostId, 2, 0));
    expect(await withTimeout(finished, 10_000, () => `calls ${calls}`)).toBe("completed");
  } finally {
    await w.close();
    await outcomes.close();
    await closeClient(eventsClient);
    await q.close();
  }
}, 40_000);
