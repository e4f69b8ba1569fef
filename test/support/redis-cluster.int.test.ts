/**
 * The Redis Cluster fixture, through Tether's own cluster client (`createClusterClient` of the
 * `redis+cluster://` URL): keys land on all three masters, sharded Pub/Sub carries a message from
 * every shard, `stop()` leaves no node running, and with replicas a `kill -9` of a master fails
 * over to its replica and the shard takes writes again.
 */
import type { Cluster } from "ioredis";
import { clusterTarget, closeRedis, createClusterClient, createLogger, whenReady } from "@tether/core";
import { isPortClosed } from "./ports";
import { closeClient, newRedisClient } from "./redis";
import { startTestCluster, type TestCluster } from "./redis-cluster";
import { withTimeout } from "./wait";

const log = createLogger({ level: "silent", nodeId: "test", service: "cluster-test" });

/** True while a process with this pid exists (signal 0 only checks). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One key per shard, each under the suite's prefix: asks the cluster for slots until every shard has one. */
async function keyPerShard(client: Cluster, cluster: TestCluster): Promise<string[]> {
  const slots = (await client.cluster("SLOTS")) as Array<[number, number, ...unknown[]]>;
  const shardOf = (slot: number) => cluster.nodes.findIndex((n) => n.role === "master" && ownsSlot(slots, n.port, slot));
  const keys: string[] = [];
  for (let i = 0; keys.filter(Boolean).length < 3 && i < 200; i++) {
    const key = `${cluster.prefix}:k${i}`;
    const shard = shardOf(await client.cluster("KEYSLOT", key));
    keys[shard] ??= key;
  }
  if (keys.filter(Boolean).length !== 3) throw new Error("no key found for some shard in 200 tries");
  return keys;
}

/** Does the node on `port` serve `slot` according to CLUSTER SLOTS (`[start, end, [host, port, id], …replicas]`)? */
function ownsSlot(slots: Array<[number, number, ...unknown[]]>, port: number, slot: number): boolean {
  return slots.some(([start, end, master]) => slot >= start && slot <= end && (master as [string, number])[1] === port);
}

describe("a real Redis Cluster (3 masters)", () => {
  let cluster: TestCluster;
  let client: Cluster;
  let subscriber: Cluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
    const target = clusterTarget(cluster.url);
    client = createClusterClient(target, "command", log);
    subscriber = createClusterClient(target, "subscriber", log);
    await Promise.all([whenReady(client), whenReady(subscriber)]);
  });
  afterAll(async () => {
    await Promise.all([client, subscriber].filter(Boolean).map((c) => closeRedis(c)));
    await cluster?.stop();
  });

  test("three masters, each serving a third of the slots, every node in the URL", () => {
    expect(cluster.nodes.map((n) => [n.role, n.shard])).toEqual([
      ["master", 0],
      ["master", 1],
      ["master", 2],
    ]);
    expect(cluster.url).toBe(`redis+cluster://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`);
  });

  test("writes through the redis+cluster:// client land on all three masters", async () => {
    const keys = await keyPerShard(client, cluster);
    await Promise.all(keys.map((key, shard) => client.set(key, `v${shard}`)));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(["v0", "v1", "v2"]);
    // Each master holds exactly its own key: asked directly (no cluster client), by slot.
    for (const [shard, node] of cluster.nodes.entries()) {
      const direct = newRedisClient(`redis://127.0.0.1:${node.port}`);
      try {
        const counts = await Promise.all(
          keys.map(async (key) => direct.call("CLUSTER", "COUNTKEYSINSLOT", String(await client.cluster("KEYSLOT", key)))),
        );
        expect(counts).toEqual(keys.map((_, i) => (i === shard ? 1 : 0)));
      } finally {
        await closeClient(direct);
      }
    }
  });

  test("SPUBLISH reaches an SSUBSCRIBE of the sharded subscriber, on every shard", async () => {
    const channels = await keyPerShard(client, cluster);
    const heard: Array<[string, string]> = [];
    const all = new Promise<void>((resolve) =>
      subscriber.on("smessage", (channel: string, message: string) => {
        heard.push([channel, message]);
        if (heard.length === channels.length) resolve();
      }),
    );
    // One SSUBSCRIBE per slot: ioredis refuses channels of several slots in one call (CROSSSLOT).
    await Promise.all(channels.map((ch) => subscriber.ssubscribe(ch)));
    // Each SPUBLISH is answered by the channel's own master, which counts one shard subscriber.
    expect(await Promise.all(channels.map((ch, i) => client.spublish(ch, `m${i}`)))).toEqual([1, 1, 1]);
    await withTimeout(all, 5000, () => `heard only ${JSON.stringify(heard)}`);
    expect(heard.sort()).toEqual(channels.map((ch, i) => [ch, `m${i}`]).sort());
  });

  test("stop() ends every node, by pid, and frees every port", async () => {
    await Promise.all([client, subscriber].map((c) => closeRedis(c)));
    const pids = cluster.nodes.map((n) => n.pid!);
    expect(pids.every(pidAlive)).toBe(true);
    await cluster.stop();
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(await Promise.all(cluster.nodes.map((n) => isPortClosed(n.port)))).toEqual([true, true, true]);
    expect(cluster.nodes.map((n) => n.pid)).toEqual([undefined, undefined, undefined]);
  });
});

describe("a Redis Cluster with a replica per master", () => {
  let cluster: TestCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startTestCluster({ replicas: 1 });
    client = createClusterClient(clusterTarget(cluster.url), "command", log);
    await whenReady(client);
  });
  afterAll(async () => {
    if (client) await closeRedis(client);
    await cluster?.stop();
  });

  test("kill -9 of a master: its replica takes over, and its slots take writes again", async () => {
    expect(cluster.nodes.map((n) => n.role)).toEqual(["master", "master", "master", "replica", "replica", "replica"]);
    const key = (await keyPerShard(client, cluster))[1]!;
    await client.set(key, "before");
    const replica = cluster.nodes.findIndex((n) => n.role === "replica" && n.shard === 1);
    // The write reached the replica before the kill, so the failover keeps it (WAIT: one replica acknowledged).
    expect(
      await client
        .nodes("master")
        .find((n) => n.options.port === cluster.nodes[1]!.port)!
        .wait(1, 5000),
    ).toBe(1);

    const killed = await cluster.killMaster(1);
    expect(killed).toBe(1);
    expect(cluster.nodes[1]!.pid).toBeUndefined();
    await cluster.waitUntilServing();
    const now = await cluster.topology();
    expect(now.find((s) => s.index === replica)).toMatchObject({ role: "master", shard: 1, alive: true });

    expect(await client.get(key)).toBe("before");
    await client.set(key, "after");
    expect(await client.get(key)).toBe("after");

    // The old master comes back as a replica of the one that took over.
    await cluster.restartNode(killed);
    expect((await cluster.topology()).find((s) => s.index === killed)).toMatchObject({ role: "replica", shard: 1, alive: true });
  });
});
