/**
 * The stores with LOG_PARTITIONS=8 on a real 3-master Redis Cluster (issue 16 point 2): every
 * step touches one slot (a CROSSSLOT would throw), hosts and commands spread over the masters,
 * the host-token index stays global with the host's record the authority, each host's events
 * stay in order across the merged partitions, and events are rung by SPUBLISH on the partition's
 * own shard.
 */
import type { Cluster } from "ioredis";
import {
  LogReader,
  clusterTarget,
  closeRedis,
  createClusterClient,
  createLogger,
  createMetrics,
  createStores,
  hashToken,
  newCommand,
  publish,
  whenReady,
  type Stores,
} from "../src";
import type { LoggedEvent } from "@tether/protocol";
import { startTestCluster, type TestCluster } from "../../../test/support/redis-cluster";
import { withTimeout } from "../../../test/support/wait";

const log = createLogger({ level: "silent", nodeId: "test", service: "stores-cluster" });
const PARTITIONS = 8;

let cluster: TestCluster;
let redis: Cluster;
let sub: Cluster;
let stores: Stores;

beforeAll(async () => {
  cluster = await startTestCluster();
  redis = createClusterClient(clusterTarget(cluster.url), "command", log);
  sub = createClusterClient(clusterTarget(cluster.url), "subscriber", log, { shardedSubscribers: true });
  await Promise.all([whenReady(redis), whenReady(sub)]);
  stores = createStores(
    redis,
    {
      REDIS_PREFIX: cluster.prefix,
      LOG_MAX_LEN: 10_000,
      MAX_OUTPUT_BYTES_PER_COMMAND: 1 << 20,
      OUTPUT_MAX_AGE_MS: 60_000,
      SESSION_SECRET: "s".repeat(48),
      LOG_PARTITIONS: PARTITIONS,
    },
    createMetrics("test", "stores-cluster"),
  );
}, 60_000);
afterAll(async () => {
  await Promise.all([redis && closeRedis(redis), sub && closeRedis(sub)]);
  await cluster?.stop();
});

test("hosts spread over every master; list, tokens, rotate and remove work slot by slot", async () => {
  const made = await Promise.all(Array.from({ length: 24 }, (_, i) => stores.hosts.create(`h${String(i).padStart(2, "0")}`, Date.now())));
  const partitions = new Set(made.map(({ host }) => stores.parts.ofHost(host.id).index));
  expect(partitions.size).toBeGreaterThanOrEqual(6);

  // Each of the three masters (equal slot ranges, as `--cluster create` made them) holds some partitions.
  const slots = await Promise.all(stores.keys.all.map((k) => redis.cluster("KEYSLOT", k.hosts)));
  const shardOf = (slot: number) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
  expect(new Set(slots.map(shardOf)).size).toBe(3);

  expect((await stores.hosts.list()).map((h) => h.name)).toEqual(made.map(({ host }) => host.name));
  const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
  expect(await stores.hosts.idForToken(a.token)).toBe(a.host.id);

  const rotated = await stores.hosts.rotateToken(a.host.id);
  expect(rotated).not.toBeNull();
  expect(await stores.hosts.idForToken(a.token)).toBeNull();
  expect(await stores.hosts.idForToken(rotated!)).toBe(a.host.id);
  expect(await redis.hexists(stores.keys.tokens, hashToken(a.token))).toBe(0);

  expect(await stores.hosts.remove(b.host.id)).toBe(true);
  expect(await stores.hosts.idForToken(b.token)).toBeNull();
  expect(await redis.hexists(stores.keys.tokens, hashToken(b.token))).toBe(0);
  expect(await stores.hosts.get(b.host.id)).toBeNull();
}, 60_000);

test("an index entry the host's record does not name counts for nothing (a crash between the steps)", async () => {
  const { host, token } = await stores.hosts.create("crashy", Date.now());
  // What a rotate that died after indexing its new token leaves: an entry, MAC'd, that the record does not name.
  const { host: other } = await stores.hosts.create("other", Date.now());
  const meta = await stores.hosts.meta(other.id);
  await redis.hset(stores.keys.tokens, meta!.token, host.id);
  expect(await stores.hosts.idForTokenHash(meta!.token)).toBeNull();
  expect(await stores.hosts.idForToken(token)).toBe(host.id);
});

test("commands live in their host's partition: queue, claim, output, finish; a frame naming another partition is unknown", async () => {
  const hosts = await Promise.all(Array.from({ length: 8 }, (_, i) => stores.hosts.create(`c${i}`, Date.now())));
  for (const { host } of hosts) {
    const cmd = newCommand({ hostId: host.id, command: "echo", args: [host.name], now: Date.now(), partitions: PARTITIONS });
    expect(stores.parts.ofCommand(cmd.id)).toBe(stores.parts.ofHost(host.id));
    expect(await stores.commands.queue(cmd)).toBe(true);
    expect(await stores.commands.claim(cmd, host.id, Date.now())).not.toBeNull();
    const frames = [0, 1, 2].map((seq) => ({ command_id: cmd.id, seq, stream: "stdout" as const, data: `${host.name}-${seq}\n` }));
    expect(await stores.commands.appendOutputs(host.id, frames)).toEqual(["stored", "stored", "stored"]);
    expect(await stores.commands.finish(cmd.id, { status: "succeeded", exitCode: 0, now: Date.now(), hostId: host.id })).toBe("finished");
    expect((await stores.commands.output(cmd.id)).map((c) => c.data)).toEqual(frames.map((f) => f.data));
    expect((await stores.commands.history(host.id)).map((c) => c.status)).toEqual(["succeeded"]);
  }
  // The attacker's frame: an agent names a command of a host in another partition.
  const [x, y] = hosts.filter(
    ({ host }, i, all) => all.findIndex((o) => stores.parts.ofHost(o.host.id) === stores.parts.ofHost(host.id)) === i,
  );
  const theirs = newCommand({ hostId: y!.host.id, command: "id", now: Date.now(), partitions: PARTITIONS });
  await stores.commands.queue(theirs);
  await stores.commands.claim(theirs, y!.host.id, Date.now());
  const mine = newCommand({ hostId: x!.host.id, command: "id", now: Date.now(), partitions: PARTITIONS });
  await stores.commands.queue(mine);
  await stores.commands.claim(mine, x!.host.id, Date.now());
  expect(
    await stores.commands.appendOutputs(x!.host.id, [
      { command_id: theirs.id, seq: 0, stream: "stdout", data: "forged" },
      { command_id: mine.id, seq: 0, stream: "stdout", data: "mine" },
    ]),
  ).toEqual(["unknown_command", "stored"]);
  expect(await stores.commands.output(theirs.id)).toEqual([]);
  expect(await stores.commands.claim(theirs, x!.host.id, Date.now())).toBeNull();
  // An id naming no partition of this deployment is simply unknown.
  const foreign = `${theirs.id.slice(0, 34)}ff`;
  expect(await stores.commands.get(foreign)).toBeNull();
  expect(await stores.commands.finish(foreign, { status: "cancelled", exitCode: null, now: Date.now() })).toBe("unknown_command");
}, 60_000);

test("the merged log keeps every host's events in order, and events are rung on their partition's shard channel", async () => {
  const { host } = await stores.hosts.create("ordered", Date.now());
  const channel = stores.parts.ofHost(host.id).keys.eventsChannel;
  const heard: string[] = [];
  sub.on("smessage", (ch: string, message: string) => {
    if (ch === channel) heard.push(message);
  });
  await sub.ssubscribe(channel);
  for (let i = 0; i < 5; i++) await stores.hosts.patch(host.id, { name: `ordered-${i}` });
  await withTimeout(
    (async () => {
      while (heard.filter((m) => m.includes(host.id)).length < 5) await new Promise((r) => setImmediate(r));
    })(),
    10_000,
    () => "5 host_update messages on the partition's shard channel",
  );
  // A plain publish() to a host channel reaches an SSUBSCRIBEr of it too.
  const hostChannel = stores.parts.ofHost(host.id).keys.hostChannel(host.id);
  const rung = new Promise<string>((resolve) => sub.on("smessage", (ch: string, m: string) => ch === hostChannel && resolve(m)));
  await sub.ssubscribe(hostChannel);
  expect(await publish(redis, hostChannel, "ping")).toBe(1);
  expect(await withTimeout(rung, 10_000, () => "host channel message")).toBe("ping");

  const reader = new LogReader(stores.logs, stores.keys.all, redis);
  const names: string[] = [];
  let total = 0;
  for await (const entry of reader.read(await reader.fromStart(), 100)) {
    const event = JSON.parse(entry.frame) as LoggedEvent;
    total++;
    if (event.type === "host_update" && event.payload.host.id === host.id) names.push(event.payload.host.name);
  }
  expect(names).toEqual(["ordered", "ordered-0", "ordered-1", "ordered-2", "ordered-3", "ordered-4"]);
  expect(total).toBeGreaterThan(30);
}, 60_000);
