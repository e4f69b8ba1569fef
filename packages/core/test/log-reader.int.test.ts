/** Reading every partition's log as one (issue 16 point 3), against a real Redis. */
import type { Redis } from "ioredis";
import {
  EventLog,
  LogReader,
  ORIGIN_ID,
  createPartitionedKeys,
  cursorId,
  frameId,
  headOf,
  type LogStart,
  type PartitionedKeys,
} from "../src";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = newRedisClient(server.url);
});
afterAll(async () => {
  await closeClient(redis);
  await server.stop();
});

function fresh(n: number, maxLen = 1000): { keys: PartitionedKeys; logs: EventLog[]; reader: LogReader } {
  const keys = createPartitionedKeys(server.newPrefix(), n);
  const logs = keys.all.map((k) => new EventLog({ redis, keys: k, maxLen }));
  return { keys, logs, reader: new LogReader(logs, keys.all, redis) };
}

/** Log a host_update for `hostId` in its own partition; its frame as published. */
async function logHost(keys: PartitionedKeys, logs: EventLog[], hostId: string): Promise<string> {
  const p = keys.all.indexOf(keys.forHost(hostId));
  const res = await logs[p]!.append({ event: { type: "host_update", payload: { host: { id: hostId, name: hostId, status: "online" } } } });
  if (!res.ok || !res.frame) throw new Error("append failed");
  return res.frame;
}

async function readAll(reader: LogReader, start: LogStart, page = 3) {
  const out = [];
  for await (const e of reader.read(start, page)) out.push(e);
  return out;
}

const hostIds = Array.from({ length: 24 }, (_, i) => `host-${i}`);

test("events of every partition come back merged by time, each host's in its own order, across pages", async () => {
  const { keys, logs, reader } = fresh(4);
  const frames: string[] = [];
  for (let round = 0; round < 2; round++) for (const h of hostIds) frames.push(await logHost(keys, logs, h));
  const read = await readAll(reader, await reader.fromStart());
  expect(read).toHaveLength(frames.length);
  // Every partition was used (24 hosts over 4 partitions), and time never goes back.
  expect(new Set(read.map((e) => e.p)).size).toBe(4);
  const heads = read.map((e) => e.head);
  expect([...heads].sort()).toEqual(heads);
  // Per partition, the stream's own order.
  for (let p = 0; p < 4; p++) {
    const mine = read.filter((e) => e.p === p).map((e) => e.frame);
    expect(mine).toEqual(frames.filter((f) => keys.all.indexOf(keys.forHost(JSON.parse(f).payload.host.id)) === p));
  }
});

test("a cursor resumes every partition exactly; another epoch, a trimmed position or a malformed id is a resync", async () => {
  const { keys, logs, reader } = fresh(4, 100);
  for (const h of hostIds) await logHost(keys, logs, h);
  const all = await readAll(reader, await reader.fromStart());
  // Stand after the 10th event merged: the position of each partition as a reader there has it.
  const start = await reader.fromStart();
  const heads = start.positions.map(headOf);
  for (const e of all.slice(0, 10)) heads[e.p] = e.head;
  const id = cursorId(all[9]!.p, heads, start.epochs);
  const resumed = await reader.resume(id);
  expect(resumed).not.toBeNull();
  expect((await readAll(reader, resumed!)).map((e) => e.frame)).toEqual(all.slice(10).map((e) => e.frame));
  // The origin resumes from every start while nothing was trimmed.
  expect((await readAll(reader, (await reader.resume(ORIGIN_ID))!)).length).toBe(all.length);
  // Garbage, a one-partition id, and an id whose stamp does not match: resync.
  expect(await reader.resume("nonsense")).toBeNull();
  expect(await reader.resume(frameId(Buffer.from(all[0]!.frame)))).toBeNull();
  expect(await reader.resume(id.replace(/\.[0-9a-z]{10}/, ".zzzzzzzzzz"))).toBeNull();
  // Trim a partition past the cursor's position there: that position can no longer resume exactly.
  const p = all[0]!.p;
  await redis.xtrim(keys.partition(p).log, "MAXLEN", 0);
  expect(await reader.resume(id)).toBeNull();
  expect(await reader.resume(ORIGIN_ID)).toBeNull();
});

test("one partition: today's resume and the frames exactly as logged", async () => {
  const { keys, logs, reader } = fresh(1);
  const frames: string[] = [];
  for (const h of hostIds.slice(0, 5)) frames.push(await logHost(keys, logs, h));
  expect((await readAll(reader, await reader.fromStart())).map((e) => e.frame)).toEqual(frames);
  const after = (await reader.resume(frameId(Buffer.from(frames[1]!))))!;
  expect((await readAll(reader, after)).map((e) => e.frame)).toEqual(frames.slice(2));
});
