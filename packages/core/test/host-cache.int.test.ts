/**
 * A writer's copy of a host (RecordCache, the hub's per connection): with a copy that is still the
 * stored state an update is one guarded write and no read; a copy made stale by any other writer
 * (a rename, a team move, a removal, a token rotation) is caught by the guard on `v`, and the update
 * decides again on the stored state, so nothing another writer wrote is lost. Real Redis.
 */
import type { Redis } from "ioredis";
import { EventLog, HostStore, PartitionSet, RecordMacs, createKeys, type RecordCache } from "../src";
import type { Host } from "@tether/protocol";
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

/** A host store on a fresh prefix, and the number of record reads its log has made. */
function fresh(): { hosts: HostStore; reads: () => number; metaKey: (id: string) => string } {
  const keys = createKeys(server.newPrefix());
  const log = new EventLog({ redis, keys, maxLen: 1000 });
  let reads = 0;
  const readRecord = log.readRecord.bind(log);
  log.readRecord = (...args) => {
    reads += 1;
    return readRecord(...args);
  };
  return {
    hosts: new HostStore(redis, PartitionSet.single(log), new RecordMacs("host-cache-test-secret-0123456789abcdef")),
    reads: () => reads,
    metaKey: keys.hostMeta,
  };
}

/** What a hub's heartbeat does: new metrics while the host is online. */
const beat = (n: number) => (h: Host) => (h.status === "online" ? { host: { ...h, metrics: { n }, last_seen: n } } : null);

async function onlineHost(hosts: HostStore): Promise<string> {
  const { host } = await hosts.create("web-1", 1);
  await hosts.update(host.id, (h) => ({ host: { ...h, status: "online" }, meta: { epoch: 1 } }));
  return host.id;
}

test("with a current copy a heartbeat is one write and no read, and what it wrote is stored", async () => {
  const { hosts, reads, metaKey } = fresh();
  const id = await onlineHost(hosts);
  const cache: RecordCache<Host> = {};
  await hosts.update(id, beat(1), cache);
  const before = reads();
  for (let n = 2; n <= 5; n++) expect((await hosts.update(id, beat(n), cache))?.metrics).toEqual({ n });
  expect(reads()).toBe(before);
  expect(await hosts.get(id)).toMatchObject({ status: "online", metrics: { n: 5 }, last_seen: 5, name: "web-1" });
  // The copy keeps no token hash (the connection holds none).
  expect(cache.known?.meta.token).toBeUndefined();
  expect(cache.known?.meta.v).toBe((await redis.hget(metaKey(id), "v")) ?? "");
});

test("a rename and a team move made by another writer survive the next heartbeat made from a stale copy", async () => {
  const { hosts, reads } = fresh();
  const id = await onlineHost(hosts);
  const cache: RecordCache<Host> = {};
  await hosts.update(id, beat(1), cache);
  await hosts.patch(id, { name: "web-renamed", teamId: "team-b" });
  const before = reads();
  expect(await hosts.update(id, beat(2), cache)).toMatchObject({ name: "web-renamed", team_id: "team-b", metrics: { n: 2 } });
  // The guard caught the stale copy: one read, then the write on the stored state.
  expect(reads()).toBe(before + 1);
  expect(await hosts.get(id)).toMatchObject({ name: "web-renamed", team_id: "team-b", metrics: { n: 2 } });
  // And the copy is current again: the next heartbeat reads nothing.
  await hosts.update(id, beat(3), cache);
  expect(reads()).toBe(before + 1);
});

test("a copy that would decline is not trusted: the update decides again on the stored state", async () => {
  const { hosts, metaKey } = fresh();
  const id = await onlineHost(hosts);
  const cache: RecordCache<Host> = {};
  // The copy says offline (the worker's check wrote it), then the agent came back online elsewhere.
  await hosts.update(id, (h) => ({ host: { ...h, status: "offline" } }), cache);
  await hosts.update(id, (h) => ({ host: { ...h, status: "online" }, meta: { epoch: 2 } }));
  expect(await hosts.update(id, beat(7), cache)).toMatchObject({ status: "online", metrics: { n: 7 } });
  // A mutate that checks the token sees "" on a copy, declines there, and checks the stored token.
  const token = await redis.hget(metaKey(id), "token");
  expect(await hosts.update(id, (h, meta) => (meta.token === token ? { host: { ...h, name: "checked" } } : null), cache)).toMatchObject({
    name: "checked",
  });
});

test("a host removed, or its token rotated, since the copy: the stale copy writes nothing", async () => {
  const { hosts, metaKey } = fresh();
  const id = await onlineHost(hosts);
  const cache: RecordCache<Host> = {};
  await hosts.update(id, beat(1), cache);
  expect(await hosts.rotateToken(id)).toEqual(expect.any(String));
  // Rotation bumped v: the heartbeat still lands, on the stored state (token unchanged by it).
  const rotated = await redis.hget(metaKey(id), "token");
  await hosts.update(id, beat(2), cache);
  expect(await redis.hget(metaKey(id), "token")).toBe(rotated);

  expect(await hosts.remove(id)).toBe(true);
  expect(await hosts.update(id, beat(3), cache)).toBeNull();
  expect(await hosts.get(id)).toBeNull();
  expect(await redis.exists(metaKey(id))).toBe(0);
});
