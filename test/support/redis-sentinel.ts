/**
 * A Redis primary, its replica and three Sentinels watching them, as real `redis-server`
 * processes on free ports (the Sentinels are `redis-server <conf> --sentinel`): for the tests of
 * REDIS_SENTINELS, failover included. Data nodes and Sentinels each ask for a password, so the
 * test also proves the credentials reach every connection.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { freePort } from "./ports";
import { runRedisServer, type RedisChild } from "./redis-secure";
import { closeClient, newRedisClient } from "./redis";
import { signalOwned } from "./children";

/** The running set. */
export interface SentinelSet {
  /** The Sentinels' name for the primary. */
  readonly name: string;
  /** `host:port,…` of the three Sentinels (REDIS_SENTINELS). */
  readonly sentinels: string;
  /** The data nodes' password (in REDIS_URL) and the Sentinels' own (REDIS_SENTINEL_PASSWORD). */
  readonly dataPassword: string;
  readonly sentinelPassword: string;
  /** Port of the node that was primary at start, and of its replica. */
  readonly primaryPort: number;
  readonly replicaPort: number;
  /** What the Sentinels say the primary is now. */
  primaryAddress(): Promise<{ host: string; port: number }>;
  /** `kill -9` of the node that is primary at start. */
  killPrimary(): void;
  /** `kill -9` of whichever data node the Sentinels call primary now; resolves with its port. */
  killCurrentPrimary(): Promise<number>;
  /**
   * Starts a killed data node again with its first arguments (its data from the AOF when
   * `appendonly`); the Sentinels make it a replica of the current primary. Resolves when it is up.
   */
  restartNode(port: number): Promise<void>;
  /** The data nodes' ports. */
  readonly dataPorts: readonly number[];
  /** Stops every process (SIGTERM, SIGKILL after 10 s) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Starts primary, replica (in sync) and three Sentinels (quorum 2, down after `downAfterMs`). */
export async function startSentinelSet(options: { downAfterMs?: number; appendonly?: boolean } = {}): Promise<SentinelSet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-sentinel-"));
  const name = "tether-primary";
  const dataPassword = `data-${randomBytes(8).toString("hex")}`;
  const sentinelPassword = `sentinel-${randomBytes(8).toString("hex")}`;
  const children: RedisChild[] = [];
  const nodes = new Map<number, { args: string[]; dir: string; child: RedisChild }>();
  const clients: Redis[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(clients.map((c) => closeClient(c)));
      await Promise.all(children.map((c) => c.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  try {
    const [primaryPort, replicaPort, ...sentinelPorts] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
    const dataNode = async (port: number, extra: string[]) => {
      const nodeDir = path.join(dir, `node-${port}`);
      fs.mkdirSync(nodeDir);
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", nodeDir];
      args.push("--appendonly", options.appendonly ? "yes" : "no", "--requirepass", dataPassword, "--masterauth", dataPassword, ...extra);
      const child = await runRedisServer(args, nodeDir, `redis:${port}`);
      children.push(child);
      nodes.set(port, { args, dir: nodeDir, child });
      return child;
    };
    const primary = await dataNode(primaryPort!, []);
    await dataNode(replicaPort!, ["--replicaof", "127.0.0.1", String(primaryPort)]);
    const replicaClient = newRedisClient(`redis://:${dataPassword}@127.0.0.1:${replicaPort}`);
    clients.push(replicaClient);
    await until(async () => /master_link_status:up/.test(await replicaClient.info("replication")), "the replica never synced");
    await Promise.all(
      sentinelPorts.map(async (port) => {
        const conf = path.join(dir, `sentinel-${port}.conf`);
        fs.writeFileSync(
          conf,
          [
            `port ${port}`,
            "bind 127.0.0.1",
            `dir ${dir}`,
            `requirepass ${sentinelPassword}`,
            `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
            `sentinel auth-pass ${name} ${dataPassword}`,
            // Sentinels find each other through the primary; they must also log in to each other.
            `sentinel sentinel-pass ${sentinelPassword}`,
            `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${name} 10000`,
            "",
          ].join("\n"),
        );
        children.push(await runRedisServer([conf, "--sentinel"], dir, `sentinel:${port}`));
      }),
    );
    const sentinelClient = newRedisClient(`redis://:${sentinelPassword}@127.0.0.1:${sentinelPorts[0]}`);
    clients.push(sentinelClient);
    const primaryAddress = async () => {
      const [host, port] = (await sentinelClient.call("SENTINEL", "get-master-addr-by-name", name)) as [string, string];
      return { host, port: Number(port) };
    };
    // Every Sentinel has seen the replica and the other two: a failover can be agreed on.
    await until(async () => {
      const fields = (await sentinelClient.call("SENTINEL", "master", name)) as string[];
      const field = (key: string) => fields[fields.indexOf(key) + 1];
      return field("num-slaves") === "1" && field("num-other-sentinels") === "2";
    }, "the Sentinels never saw the replica and each other");
    return {
      name,
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
      dataPassword,
      sentinelPassword,
      primaryPort: primaryPort!,
      replicaPort: replicaPort!,
      primaryAddress,
      killPrimary: () => signalOwned(primary.child, "SIGKILL"),
      dataPorts: [primaryPort!, replicaPort!],
      async killCurrentPrimary() {
        const { port } = await primaryAddress();
        const node = nodes.get(port);
        if (!node) throw new Error(`the Sentinels name ${port} as primary, not one of ours`);
        signalOwned(node.child.child, "SIGKILL");
        await node.child.child.exited;
        return port;
      },
      async restartNode(port) {
        const node = nodes.get(port);
        if (!node) throw new Error(`no data node on ${port}`);
        if (!node.child.child.exitInfo) throw new Error(`the data node on ${port} is still running`);
        // It replays its AOF before it is ready: minutes of writes take a while on a loaded machine.
        node.child = await runRedisServer(node.args, node.dir, `redis:${port}`, undefined, 180_000);
        children.push(node.child);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls `check` every 50 ms until it holds (a state reached, not a flake retried); fails after 20 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((r) => setTimeout(r, 50));
  }
}
