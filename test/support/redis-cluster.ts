/**
 * A real Redis Cluster for tests (issue 16): three masters, optionally one replica each, as
 * `redis-server --cluster-enabled yes` children on free ports, each in its own temp dir, joined by
 * `redis-cli --cluster create`. Data and bus ports are both picked free (`--cluster-port`), since
 * the default bus port (port + 10000) of an ephemeral port may be taken or beyond 65535.
 *
 * Only the binary path exists: a Docker engine does not answer on the machines this runs on, and a
 * cluster in containers needs its nodes to announce addresses the test process can reach, which
 * the binary gets for free on 127.0.0.1.
 *
 * Shards are numbered by slot range: shard 0 serves the slots from 0, shard 2 those up to 16383.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { readLines, signalOwned, spawnOwned } from "./children";
import { freePort } from "./ports";
import { closeClient, newRedisClient, randomPrefix } from "./redis";
import { findOnPath } from "./redis-binary";
import { makeTlsFiles, runRedisServer, type RedisChild, type TlsFiles } from "./redis-secure";
import { tail, withTimeout } from "./wait";

const SLOTS = 16384;
const MASTERS = 3;

/** One node as it was set up at start (its role may change on a failover; see {@link TestCluster.topology}). */
export interface ClusterNode {
  readonly port: number;
  /** pid of its `redis-server` while it runs; undefined after a kill, until {@link TestCluster.restartNode}. */
  readonly pid: number | undefined;
  /** Its role when the cluster was created. */
  readonly role: "master" | "replica";
  /** The shard (0–2) it serves or replicates. */
  readonly shard: number;
}

/** A node as the running cluster sees it now. */
export interface ClusterNodeState {
  /** Index into {@link TestCluster.nodes}. */
  index: number;
  port: number;
  alive: boolean;
  role: "master" | "replica";
  /** The shard whose slots it serves (master) or replicates (replica); undefined for a master without slots. */
  shard: number | undefined;
}

/** The running cluster. */
export interface TestCluster {
  /**
   * `redis+cluster://127.0.0.1:p1,…` of every node (the seeds; any one would do); with
   * {@link TestClusterOptions.tls} `rediss+cluster://`. No credentials in it: see {@link TestCluster.urlWith}.
   */
  readonly url: string;
  /** {@link TestCluster.url} with `user:password@` (`user` empty: the `default` user's `requirepass`). */
  urlWith(user: string, password: string): string;
  /** The CA (and server certificate) of a TLS cluster: pass `tlsFiles.ca` as REDIS_TLS_CA_FILE. */
  readonly tlsFiles: TlsFiles | undefined;
  /** A random key prefix for the suite (`t` + 12 hex), as {@link import("./redis").TestRedis.prefix}. */
  readonly prefix: string;
  /** Another random prefix, e.g. one per stack of a suite that shares one cluster. */
  newPrefix(): string;
  /** Masters first (shard 0, 1, 2), then the replicas in shard order. */
  readonly nodes: readonly ClusterNode[];
  /** Roles and shards as a live node reports them now. */
  topology(): Promise<ClusterNodeState[]>;
  /** `kill -9` of shard `shard`'s current master; resolves with its node index once it has exited. */
  killMaster(shard: number): Promise<number>;
  /** Starts a killed node again on its port with its `nodes.conf`; resolves once the cluster serves every slot with it in. */
  restartNode(index: number): Promise<void>;
  /**
   * Resolves once every live node reports `cluster_state:ok` with all 16384 slots assigned, every
   * shard's slots are served by a live master, and no live node is flagged as failing — after a
   * kill this is the failover done (awaited, polled with a deadline; never a fixed sleep).
   */
  waitUntilServing(timeoutMs?: number): Promise<void>;
  /** Stops every node (SIGTERM, SIGKILL after 10 s), by pid, and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startTestCluster}. */
export interface TestClusterOptions {
  /** One replica per master (6 nodes), for failover tests. Default 0. */
  replicas?: 0 | 1;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be flagged failing, hence the bulk of
   * a failover's time. Short by default for tests; a loaded machine still answers PINGs in far less.
   */
  nodeTimeoutMs?: number;
  /** AOF on, so a restarted node comes back with its data. Default off. */
  appendonly?: boolean;
  /** `requirepass` on every node (the `default` user's password); replicas authenticate with it too. */
  requirepass?: string;
  /** ACL users on every node, each as the words of a `user` directive: `["tether", "on", ">pw", "~*", "&*", "+@all"]`. */
  users?: string[][];
  /**
   * TLS only: `--port 0 --tls-port`, `--tls-cluster yes` (the bus), `--tls-replication yes`, one
   * server certificate (for 127.0.0.1) from a throwaway CA shared by every node; clients need none.
   */
  tls?: boolean;
}

interface Node {
  port: number;
  args: string[];
  dir: string;
  server: RedisChild | undefined;
  client: Redis;
  role: "master" | "replica";
  shard: number;
}

/** Starts the cluster and resolves once it serves all 16384 slots (replicas in sync). Call `stop()` in `afterAll`. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  if (!findOnPath("redis-server") || !findOnPath("redis-cli")) {
    throw new Error("A test Redis Cluster needs `redis-server` and `redis-cli` on PATH (Debian: `apt-get install -y redis-server`).");
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-cluster-"));
  const count = MASTERS * (1 + (options.replicas ?? 0));
  const tlsFiles = options.tls ? makeTlsFiles(dir) : undefined;
  const nodes: Node[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(nodes.map((n) => closeClient(n.client)));
      await Promise.all(nodes.map((n) => (n.server ? n.server.stop() : Promise.resolve())));
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  try {
    for (let i = 0; i < count; i++) nodes.push(await startNode(dir, i, options, tlsFiles));
    await createCluster(nodes, options.replicas ?? 0, options, tlsFiles);
    const shardStarts = await assignShards(nodes);
    // Masters first, in shard order, then replicas in shard order: nodes[i] is shard i's master.
    nodes.sort((a, b) => Number(a.role === "replica") - Number(b.role === "replica") || a.shard - b.shard);
    const cluster = handle(nodes, shardStarts, stop, tlsFiles);
    await cluster.waitUntilServing(20_000);
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

/** Starts one empty cluster-enabled node on free data and bus ports, asking again only if it lost the port race. */
async function startNode(root: string, i: number, options: TestClusterOptions, tlsFiles: TlsFiles | undefined): Promise<Node> {
  const dir = path.join(root, `node-${i}`);
  fs.mkdirSync(dir);
  for (let attempt = 1; ; attempt++) {
    const [port, busPort] = await Promise.all([freePort(), freePort()]);
    const args = tlsFiles ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)];
    args.push("--cluster-port", String(busPort), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no");
    if (tlsFiles) {
      args.push("--tls-cert-file", tlsFiles.cert, "--tls-key-file", tlsFiles.key, "--tls-ca-cert-file", tlsFiles.ca);
      // Clients need no certificate; the nodes' bus and replication links are TLS too, each node
      // presenting the same server certificate (it is also the client certificate of those links).
      args.push("--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes");
    }
    if (options.requirepass !== undefined) args.push("--requirepass", options.requirepass, "--masterauth", options.requirepass);
    for (const user of options.users ?? []) args.push("--user", ...user);
    args.push("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf");
    args.push("--cluster-node-timeout", String(options.nodeTimeoutMs ?? 1000));
    // A replica fails over however long its link was down: the test kills, it must take over.
    args.push("--cluster-replica-validity-factor", "0", "--cluster-allow-replica-migration", "no");
    args.push("--save", "", "--appendonly", options.appendonly ? "yes" : "no");
    try {
      const server = await runRedisServer(args, dir, `cluster:${port}`);
      // Fails fast while the node is down (no offline queue); reconnects when it is back.
      const client = newRedisClient(`${tlsFiles ? "rediss" : "redis"}://127.0.0.1:${port}`, {
        ...(options.requirepass !== undefined && { password: options.requirepass }),
        ...(tlsFiles && { tls: { ca: fs.readFileSync(tlsFiles.ca) } }),
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => 100,
      });
      return { port, args, dir, server, client, role: "master", shard: -1 };
    } catch (err) {
      if (!/Address already in use/i.test(String(err)) || attempt >= 5) throw err;
    }
  }
}

/** `redis-cli --cluster create`: slots split evenly over the first three nodes, the rest their replicas. */
async function createCluster(
  nodes: readonly Node[],
  replicas: number,
  options: TestClusterOptions,
  tlsFiles: TlsFiles | undefined,
): Promise<void> {
  const args = ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"];
  if (tlsFiles) args.push("--tls", "--cacert", tlsFiles.ca);
  // The password through the environment, not argv (redis-cli reads REDISCLI_AUTH; no warning either).
  const env = options.requirepass !== undefined ? { ...process.env, REDISCLI_AUTH: options.requirepass } : process.env;
  const cli = spawnOwned("redis-cli", args, { env });
  const lines: string[] = [];
  readLines(cli.child, (line) => lines.push(line));
  const exit = await withTimeout(cli.exited, 30_000, () => `redis-cli --cluster create did not finish:\n${tail(lines)}`).catch(
    (err: unknown) => {
      signalOwned(cli, "SIGKILL");
      throw err;
    },
  );
  if (exit.code !== 0) throw new Error(`redis-cli --cluster create failed (code ${exit.code}):\n${tail(lines)}`);
}

/**
 * Reads who is master of which slot range, and whose replica each replica is, each node from its
 * own CLUSTER NODES line (`myself`): right after `--cluster create` another node's view may not yet
 * have heard, through gossip, that a node became a replica. Returns each shard's first slot: a
 * failover moves a range whole, so it names the shard for good.
 */
async function assignShards(nodes: Node[]): Promise<number[]> {
  const selves = await Promise.all(
    nodes.map(async (node) => parseClusterNodes((await node.client.call("CLUSTER", "NODES")) as string).find((v) => v.myself)!),
  );
  const masters = selves.filter((v) => v.master && v.firstSlot !== undefined).sort((a, b) => a.firstSlot! - b.firstSlot!);
  if (masters.length !== MASTERS) throw new Error(`expected ${MASTERS} masters with slots, the nodes name ${masters.length}`);
  for (const [i, node] of nodes.entries()) {
    const self = selves[i]!;
    node.role = self.master ? "master" : "replica";
    node.shard = masters.findIndex((m) => m.id === (self.master ? self.id : self.masterId));
    if (node.shard === -1) throw new Error(`node ${node.port} serves no slots and replicates no master`);
  }
  return masters.map((m) => m.firstSlot!);
}

interface NodeView {
  id: string;
  port: number;
  master: boolean;
  /** The line of the node that answered. */
  myself: boolean;
  /** Flagged `fail` or `fail?` by the node that answered. */
  failing: boolean;
  masterId: string | undefined;
  firstSlot: number | undefined;
  slotCount: number;
}

/** `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot…>` per line. */
function parseClusterNodes(text: string): NodeView[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ");
      const port = Number(/:(\d+)@/.exec(address!)?.[1]);
      const flagList = flags!.split(",");
      // Slot entries are `n` or `a-b`; `[n->-id]` marks a slot in migration, which tests never start.
      const ranges = slots.filter((s) => !s.startsWith("[")).map((s) => s.split("-").map(Number) as [number, number?]);
      return {
        id: id!,
        port,
        master: flagList.includes("master"),
        myself: flagList.includes("myself"),
        failing: flagList.includes("fail") || flagList.includes("fail?"),
        masterId: master === "-" ? undefined : master,
        firstSlot: ranges.length ? Math.min(...ranges.map((r) => r[0])) : undefined,
        slotCount: ranges.reduce((sum, [a, b]) => sum + (b ?? a) - a + 1, 0),
      };
    });
}

function handle(nodes: Node[], shardStarts: readonly number[], stop: () => Promise<void>, tlsFiles: TlsFiles | undefined): TestCluster {
  const alive = (n: Node) => n.server !== undefined && n.server.child.exitInfo === undefined;
  const topology = async (): Promise<ClusterNodeState[]> => {
    const asker = nodes.find(alive);
    if (!asker) throw new Error("no node of the cluster is running");
    const view = parseClusterNodes((await asker.client.call("CLUSTER", "NODES")) as string);
    // A shard is a slot range: its master is whoever serves the range's first slot now.
    const shardOfMaster = new Map<string, number>();
    for (const v of view) if (v.master && v.firstSlot !== undefined) shardOfMaster.set(v.id, shardStarts.indexOf(v.firstSlot));
    return view.map((v) => {
      const index = nodes.findIndex((n) => n.port === v.port);
      return {
        index,
        port: v.port,
        alive: index !== -1 && alive(nodes[index]!),
        role: v.master ? "master" : "replica",
        shard: shardOfMaster.get(v.master ? v.id : (v.masterId ?? "")),
      };
    });
  };
  const serving = async (): Promise<string | undefined> => {
    const live = nodes.filter(alive);
    for (const node of live) {
      const info = (await node.client.call("CLUSTER", "INFO")) as string;
      if (!/cluster_state:ok/.test(info)) return `${node.port}: cluster_state is not ok`;
      if (!info.includes(`cluster_slots_assigned:${SLOTS}`)) return `${node.port}: not all slots assigned`;
      const view = parseClusterNodes((await node.client.call("CLUSTER", "NODES")) as string);
      const livePorts = new Set(live.map((n) => n.port));
      const servedByLive = view.filter((v) => v.master && livePorts.has(v.port) && !v.failing).reduce((s, v) => s + v.slotCount, 0);
      if (servedByLive !== SLOTS) return `${node.port}: ${SLOTS - servedByLive} slots are served by no live master`;
      const failing = view.find((v) => v.failing && livePorts.has(v.port));
      if (failing) return `${node.port} still flags ${failing.port} as failing`;
      const replication = await node.client.info("replication");
      if (/^role:slave/m.test(replication) && !/master_link_status:up/.test(replication))
        return `${node.port}: replica not in sync with its master`;
    }
    return undefined;
  };
  const seeds = nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  const scheme = tlsFiles ? "rediss+cluster" : "redis+cluster";
  return {
    url: `${scheme}://${seeds}`,
    urlWith: (user, password) => `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${seeds}`,
    tlsFiles,
    prefix: randomPrefix(),
    newPrefix: randomPrefix,
    nodes: nodes.map((n) => ({
      port: n.port,
      role: n.role,
      shard: n.shard,
      get pid() {
        return n.server && alive(n) ? n.server.child.pid : undefined;
      },
    })),
    topology,
    async killMaster(shard) {
      const master = (await topology()).find((s) => s.role === "master" && s.shard === shard && s.alive);
      if (!master) throw new Error(`shard ${shard} has no live master`);
      const node = nodes[master.index]!;
      signalOwned(node.server!.child, "SIGKILL");
      await node.server!.child.exited;
      return master.index;
    },
    async restartNode(index) {
      const node = nodes[index];
      if (!node) throw new Error(`no node ${index}`);
      if (alive(node)) throw new Error(`node ${index} (port ${node.port}) is still running`);
      // Same port and nodes.conf: it rejoins as itself (a replica of whoever took its slots over).
      node.server = await runRedisServer(node.args, node.dir, `cluster:${node.port}`, undefined, 60_000);
      await this.waitUntilServing();
    },
    async waitUntilServing(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let why: string | undefined;
      while ((why = await serving().catch((err: unknown) => String(err))) !== undefined) {
        if (Date.now() > deadline) throw new Error(`the cluster does not serve every slot after ${timeoutMs} ms: ${why}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop,
  };
}
