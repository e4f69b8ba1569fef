/**
 * Issue 16 point 5, on a real 3-master Redis Cluster (the test-support fixture): Tether's clients
 * from a `redis+cluster://` URL, a BullMQ queue and worker under the per-queue hash-tagged prefix,
 * express-session through connect-redis, and the login limiter (its Lua loaded on every master)
 * counting and blocking. The cluster fixture has no requirepass, so the URL carries no credentials.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import session from "express-session";
import { RedisStore } from "connect-redis";
import { Queue, Worker, type Job } from "bullmq";
import type { Cluster } from "ioredis";
import {
  QueueName,
  closeRedis,
  createKeys,
  createLogger,
  createRedisClient,
  isCluster,
  loadConfig,
  queuePrefix,
  queueTag,
  redisTarget,
  whenReady,
  type RedisClient,
} from "@tether/core";
import { errorHandler, HttpError } from "../src/errors";
import { loginLimits } from "../src/login/limits";
import { startTestCluster, type TestCluster } from "../../../test/support/redis-cluster";

const log = createLogger({ level: "silent", nodeId: "test", service: "cluster-services-test" });

let cluster: TestCluster;
let command: RedisClient;
let bullmq: RedisClient;
const servers: Server[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  const target = redisTarget(loadConfig({ REDIS_URL: cluster.url, REDIS_PREFIX: cluster.prefix }));
  command = createRedisClient(target, "command", log);
  bullmq = createRedisClient(target, "bullmq", log);
  await Promise.all([whenReady(command), whenReady(bullmq)]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if (command) await closeRedis(command);
  if (bullmq) await closeRedis(bullmq);
  await cluster?.stop();
});

async function listen(app: express.Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("a redis+cluster:// URL gives a Cluster client; keys on every master read back", async () => {
  expect(isCluster(command)).toBe(true);
  const client = command as Cluster;
  expect(client.nodes("master")).toHaveLength(3);
  const keys = Array.from({ length: 30 }, (_, i) => `${cluster.prefix}:basic:${i}`);
  await Promise.all(keys.map((k, i) => client.set(k, String(i))));
  expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys.map((_, i) => String(i)));
  const slots = new Set(await Promise.all(keys.map((k) => client.cluster("KEYSLOT", k))));
  expect(slots.size).toBeGreaterThan(1);
  expect(await client.incr(`${cluster.prefix}:basic:n`)).toBe(1);
});

test("BullMQ: a queue and a worker on the cluster run a job, every key of the queue in one slot", async () => {
  const bullPrefix = createKeys(cluster.prefix).bullPrefix;
  const prefix = queuePrefix(bullPrefix, QueueName.COMMANDS, bullmq);
  expect(prefix).toBe(`${cluster.prefix}:bull:{${queueTag(QueueName.COMMANDS)}}`);
  expect(prefix).toMatch(/:bull:\{commands~[0-9a-z]+\}$/);
  const opts = { connection: bullmq, prefix };
  const queue = new Queue(QueueName.COMMANDS, opts);
  const worker = new Worker(QueueName.COMMANDS, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), opts);
  // Heard from the worker itself: QueueEvents reads its stream from "$" once its blocking read
  // starts, after waitUntilReady, so a quick job's `completed` could go by before it listens.
  const completed = new Promise<{ id: string | undefined; result: unknown }>((resolve) =>
    worker.once("completed", (job: Job, result: unknown) => resolve({ id: job.id, result })),
  );
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const job = await queue.add("double", { n: 21 });
    expect(await completed).toEqual({ id: job.id, result: { doubled: 42 } });
    // Every key BullMQ wrote for the queue lives in the tag's slot.
    const client = command as Cluster;
    const slot = await client.cluster("KEYSLOT", `${prefix}:${QueueName.COMMANDS}:id`);
    const found: string[] = [];
    for (const node of client.nodes("master")) found.push(...(await node.keys(`${cluster.prefix}:bull:*`)));
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(await Promise.all(found.map((k) => client.cluster("KEYSLOT", k))))).toEqual(new Set([slot]));
  } finally {
    await worker.close();
    await queue.close();
  }
});

test("the three BullMQ queues live on three different masters (their names alone hashed to one)", async () => {
  const client = command as Cluster;
  const bullPrefix = createKeys(cluster.prefix).bullPrefix;
  const slotOf = (key: string) => client.cluster("KEYSLOT", key);
  const queues = [QueueName.PRESENCE, QueueName.COMMANDS, QueueName.RUNS];
  const slots = await Promise.all(queues.map((q) => slotOf(`${queuePrefix(bullPrefix, q, bullmq)}:${q}:wait`)));
  expect(slots).toEqual([8192, 2730, 13653]);
  // Which master serves each slot, as the cluster itself says (CLUSTER SLOTS: [start, end, [host, port, id], …]).
  const ranges = await client.cluster("SLOTS");
  const owner = (slot: number) => ranges.find(([a, b]) => a <= slot && slot <= b)![2]![2];
  expect(new Set(slots.map(owner)).size).toBe(3);
  // By name alone they would share one.
  const byName = await Promise.all(queues.map((q) => slotOf(`{${q}}`)));
  expect(new Set(byName.map(owner)).size).toBe(1);
});

test("sessions: express-session through connect-redis round-trips on the cluster", async () => {
  const keys = createKeys(cluster.prefix);
  const app = express();
  app.use(
    session({
      store: new RedisStore({ client: command, prefix: keys.sessionPrefix, ttl: 60 }),
      secret: "a-test-secret-of-16+",
      resave: false,
      saveUninitialized: false,
    }),
  );
  app.post("/count", (req, res) => {
    const s = req.session as unknown as { n?: number };
    s.n = (s.n ?? 0) + 1;
    res.json({ n: s.n });
  });
  app.delete("/count", (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.status(204).end())));
  const url = await listen(app);
  const first = await fetch(`${url}/count`, { method: "POST" });
  expect(await first.json()).toEqual({ n: 1 });
  const cookie = first.headers.get("set-cookie")!.split(";")[0]!;
  const second = await fetch(`${url}/count`, { method: "POST", headers: { cookie } });
  expect(await second.json()).toEqual({ n: 2 });
  const sid = decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!;
  expect(JSON.parse((await command.get(keys.session(sid)))!)).toMatchObject({ n: 2 });
  expect((await fetch(`${url}/count`, { method: "DELETE", headers: { cookie } })).status).toBe(204);
  expect(await command.get(keys.session(sid))).toBeNull();
});

test("the login limiter counts failures and blocks on the cluster, its script loaded on every master", async () => {
  const keys = createKeys(cluster.prefix);
  const app = express();
  app.set("trust proxy", 1);
  app.use(express.json());
  app.post("/login", ...loginLimits({ redis: command, keys, perAddress: 3, perUsername: 100 }), (req, res, next) => {
    if ((req.body as { password?: string }).password === "right") res.json({ ok: true });
    else next(new HttpError(401, "unauthorized", "wrong"));
  });
  app.use(errorHandler);
  const url = await listen(app);
  const login = (address: string, password: string) =>
    fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": address },
      body: JSON.stringify({ username: "admin", password }),
    }).then((r) => r.status);
  // Addresses whose keys fall on different masters: each master must have the script.
  const statuses: Record<string, number[]> = {};
  const addresses = Array.from({ length: 8 }, (_, i) => `203.0.113.${i + 1}`);
  for (const address of addresses) {
    statuses[address] = [];
    for (let i = 0; i < 5; i++) statuses[address].push(await login(address, "wrong"));
  }
  for (const address of addresses) expect({ address, s: statuses[address] }).toEqual({ address, s: [401, 401, 401, 429, 429] });
  // A success is not counted: a clean address logs in as often as it likes.
  for (let i = 0; i < 5; i++) expect(await login("198.51.100.9", "right")).toBe(200);
  const client = command as Cluster;
  const counterKeys: string[] = [];
  for (const node of client.nodes("master")) counterKeys.push(...(await node.keys(`${keys.loginLimit}ip:*`)));
  const masters = await Promise.all(
    counterKeys.map(async (k) => {
      const slot = await client.cluster("KEYSLOT", k);
      return client.nodes("master").findIndex((n) => n.options.port === slotOwner(slot));
    }),
  );
  expect(counterKeys.length).toBeGreaterThanOrEqual(addresses.length);
  expect(new Set(masters).size).toBeGreaterThan(1);
});

/** The port of the master serving `slot`, from the client's slot map. */
function slotOwner(slot: number): number | undefined {
  const nodeKey = (command as Cluster).slots[slot]?.[0];
  return nodeKey === undefined ? undefined : Number(nodeKey.split(":").pop());
}
