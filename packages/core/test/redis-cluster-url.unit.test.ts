import { Cluster } from "ioredis";
import { ConfigError, loadConfig } from "../src/config";
import { clusterOptions, clusterTarget, createRedis, isClusterUrl, redisTarget, whenReady } from "../src/redis";
import { createLogger } from "../src/logger";

/** The issues of the ConfigError `step` throws (fails the test if it throws nothing or something else). */
const issuesOf = (step: () => unknown): string[] => {
  try {
    step();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("no ConfigError");
};

describe("redis+cluster:// URLs (CONTRACT §7)", () => {
  test("seed nodes in order, credentials for every node, reads from masters", () => {
    const target = clusterTarget("redis+cluster://tether:p%40ss%3Aword@10.0.0.1:7000,redis-b.internal:7001,[::1]:7002");
    expect(target.nodes).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-b.internal", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(target.options).toEqual({ redisOptions: { username: "tether", password: "p@ss:word" }, scaleReads: "master" });
  });

  test("a password alone, a bare host (port 6379), a trailing / or /0", () => {
    expect(clusterTarget("redis+cluster://:secret@h1").options.redisOptions).toEqual({ password: "secret" });
    expect(clusterTarget("redis+cluster://h1/").nodes).toEqual([{ host: "h1", port: 6379 }]);
    expect(clusterTarget("redis+cluster://h1:7000/0").options.redisOptions).toEqual({});
  });

  test("rediss+cluster:// is TLS to every node, with the CA of REDIS_TLS_CA_FILE or the system's", () => {
    const ca = Buffer.from("-----BEGIN CERTIFICATE-----");
    expect(clusterTarget("rediss+cluster://h1:7000", { ca }).options.redisOptions.tls).toEqual({ ca });
    expect(clusterTarget("rediss+cluster://h1:7000").options.redisOptions.tls).toEqual({});
    expect(clusterTarget("redis+cluster://h1:7000", { ca }).options.redisOptions.tls).toBeUndefined();
  });

  test.each([
    ["redis://h1:7000", /not a redis\+cluster/],
    ["redis+cluster://", /node 1 is not host:port/],
    ["redis+cluster://h1:7000,,h2:7001", /node 2 is not host:port/],
    ["redis+cluster://h1:70000", /node 1 is not host:port/],
    ["redis+cluster://h1:port", /node 1 is not host:port/],
    ["redis+cluster://h1:7000/2", /only database 0/],
    ["redis+cluster://h1:7000?tls=true", /no query string/],
    ["redis+cluster://:%E0%A4%A@h1:7000", /percent-encoding/],
  ])("%s is refused, naming REDIS_URL but never the URL", (url, why) => {
    const issues = issuesOf(() => clusterTarget(url));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^REDIS_URL: /);
    expect(issues[0]).toMatch(why);
    expect(issues[0]).not.toContain(url);
  });

  test("role options: auto-pipelining for commands (on a Cluster only), sharded subscribers for the subscriber", () => {
    const target = clusterTarget("redis+cluster://:pw@h1:7000");
    const command = clusterOptions(target, "command");
    expect(command).toMatchObject({
      enableAutoPipelining: true,
      shardedSubscribers: false,
      scaleReads: "master",
      redisOptions: { password: "pw", connectionName: "tether-command", maxRetriesPerRequest: 2 },
    });
    expect(clusterOptions(target, "subscriber")).toMatchObject({ enableAutoPipelining: false, shardedSubscribers: true });
    expect(clusterOptions(target, "bullmq").redisOptions).toMatchObject({ password: "pw", maxRetriesPerRequest: null });
    const retry = command.clusterRetryStrategy!;
    expect([retry(1), retry(5), retry(100)]).toEqual([100, 1000, 1000]);
    // The target is shared by every role: building one role's options must not change it.
    expect(target.options.redisOptions).toEqual({ password: "pw" });
  });

  test("the single client writes each command as it is made: no auto-pipelining on any role (issue 15.4)", () => {
    const log = createLogger({ level: "silent", nodeId: "t", service: "test" });
    for (const role of ["command", "subscriber", "bullmq"] as const) {
      const client = createRedis("redis://127.0.0.1:1", role, log, { lazyConnect: true });
      expect(client.options.enableAutoPipelining).toBe(false);
      client.disconnect();
    }
  });

  test("the config accepts both schemes; redisTarget gives the cluster's seeds and options", () => {
    expect(isClusterUrl("redis+cluster://h1:7000")).toBe(true);
    expect(isClusterUrl("rediss+cluster://h1:7000")).toBe(true);
    expect(isClusterUrl("redis://h1:7000")).toBe(false);
    const config = loadConfig({ REDIS_URL: "redis+cluster://127.0.0.1:7000,127.0.0.1:7001" });
    expect(config.REDIS_URL).toBe("redis+cluster://127.0.0.1:7000,127.0.0.1:7001");
    expect(redisTarget(config).cluster?.nodes).toEqual([
      { host: "127.0.0.1", port: 7000 },
      { host: "127.0.0.1", port: 7001 },
    ]);
    expect(issuesOf(() => redisTarget(loadConfig({ REDIS_URL: "redis+cluster://h1:x" })))[0]).toMatch(/node 1 is not host:port/);
    expect(issuesOf(() => loadConfig({ REDIS_URL: "cluster://h1:7000" }))[0]).toMatch(/^REDIS_URL: .*redis\+cluster:\/\//);
  });

  test("a CA file goes with rediss+cluster:// too; Sentinels never go with a cluster", () => {
    expect(() => loadConfig({ REDIS_URL: "rediss+cluster://h1:7000", REDIS_TLS_CA_FILE: "/nonexistent" })).not.toThrow();
    expect(issuesOf(() => loadConfig({ REDIS_URL: "redis+cluster://h1:7000", REDIS_TLS_CA_FILE: "/ca.pem" }))[0]).toMatch(
      /^REDIS_TLS_CA_FILE:/,
    );
    expect(issuesOf(() => loadConfig({ REDIS_URL: "redis+cluster://h1:7000", REDIS_SENTINELS: "s1:26379" }))).toEqual([
      "REDIS_SENTINELS: not with a Redis Cluster REDIS_URL (a cluster fails over by itself)",
    ]);
  });
});

describe("whenReady on a cluster (issue 16 point 6: credentials refused at start)", () => {
  // A real ioredis Cluster that never connects (lazyConnect): its events are what whenReady reads.
  const idle = () => new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });

  test.each([
    ["WRONGPASS invalid username-password pair or user is disabled."],
    ["NOAUTH Authentication required."],
    ["NOPERM User tether has no permissions to run the 'cluster|slots' command"],
  ])("a node's %s rejects at once with a ConfigError naming REDIS_URL and the node, not the URL", async (reply) => {
    const cluster = idle();
    const ready = whenReady(cluster, 60_000);
    cluster.emit("node error", new Error(reply), "10.0.0.7:7001");
    const err = await ready.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([`REDIS_URL: the Redis Cluster node 10.0.0.7:7001 refused the credentials (${reply})`]);
    cluster.disconnect();
  });

  test("any other node error is waited out: ready after it resolves", async () => {
    const cluster = idle();
    const ready = whenReady(cluster, 60_000);
    cluster.emit("node error", new Error("Connection is closed."), "10.0.0.7:7001");
    cluster.emit("node error", new Error("connect ECONNREFUSED 10.0.0.7:7001"), "10.0.0.7:7001");
    cluster.emit("ready");
    await expect(ready).resolves.toBeUndefined();
    cluster.disconnect();
  });
});
