import type { Job, Queue } from "bullmq";
import {
  OfflineCheckJobSchema,
  offlineJobOptions,
  type Clock,
  type CommandStore,
  type HostStore,
  type Logger,
  type Metrics,
  type OfflineCheckJob,
  type EventLog,
  type PartitionedKeys,
} from "@tether/core";
import type { Cluster, Redis } from "ioredis";

export interface PresenceDeps {
  redis: Redis | Cluster;
  keys: PartitionedKeys;
  hosts: HostStore;
  commands: CommandStore;
  /** Every partition's log (trimmed by age on each sweep). */
  logs: readonly EventLog[];
  presenceQueue: Queue<OfflineCheckJob>;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  offlineTimeoutMs: number;
  hubTtlMs: number;
  logMaxAgeMs: number;
}

/**
 * Offline check: the host turns offline only if no newer connection came since the one that
 * scheduled the check (same epoch); its running commands end `lost`.
 */
export async function runOfflineCheck(deps: PresenceDeps, job: Job): Promise<string> {
  const data = OfflineCheckJobSchema.parse(job.data);
  const now = deps.clock.now();
  // A hub declared dead that is beating again (it was cut off from Redis, or its key was lost in
  // a failover, not killed) still holds its agents: its hosts stay online.
  if (data.node !== undefined && (await deps.redis.exists(deps.keys.hubAlive(data.node)))) {
    await restoreHeld(deps, data.host_id, data.epoch, data.node);
    deps.metrics.offlineChecks.inc({ result: "skipped" });
    return "skipped";
  }
  const host = await deps.hosts.update(data.host_id, (h, meta) =>
    meta.epoch === data.epoch && h.status === "online" && (data.node === undefined || meta.node === data.node)
      ? { host: { ...h, status: "offline" }, meta: { node: "" } }
      : null,
  );
  if (!host) {
    deps.metrics.offlineChecks.inc({ result: "skipped" });
    return "skipped";
  }
  deps.metrics.offlineChecks.inc({ result: "offline" });
  deps.log.info({ host: data.host_id, epoch: data.epoch }, "host offline");
  for (const cmd of await deps.commands.unfinished(data.host_id)) {
    if (cmd.status !== "running") continue;
    await deps.commands.finish(cmd.id, {
      status: "lost",
      exitCode: null,
      now,
      fromStatuses: ["running"],
      reason: "the host went offline while the command ran",
    });
  }
  return "offline";
}

/**
 * Puts a host back in the set of the hub that still holds it, if its record says so (same epoch,
 * same node, online). A sweep that took a live hub for dead forgot the hub and its hosts; the hub
 * says them again on its next beat, but a sweep that read the hub's liveness key before that beat
 * can forget them once more after it (nothing orders the two), and a hub killed before its next
 * beat would then never be swept: its hosts online for ever. Every host a sweep forgot has this
 * check scheduled, so the record, the authority, restores what the sweep removed.
 */
async function restoreHeld(deps: PresenceDeps, hostId: string, epoch: number, node: string): Promise<void> {
  await deps.hosts.update(hostId, (h, meta) =>
    meta.epoch === epoch && meta.node === node && h.status === "online"
      ? { host: null, extraOps: [{ cmd: "HSET", key: deps.keys.forHost(hostId).hubHosts(node), args: [hostId, String(epoch)] }] }
      : null,
  );
  // The hub is alive (just checked): it belongs in the set the sweep reads.
  await deps.redis.sadd(deps.keys.hubs, node);
}

/**
 * Sweep: hubs whose liveness key expired died without a word (`kill -9`); schedule the offline
 * check of each host they held (a newer connection elsewhere makes it a no-op), then forget them.
 * Also trims the event log by age. Idempotent: several workers may sweep at once.
 */
export async function runSweep(deps: PresenceDeps): Promise<{ deadHubs: string[] }> {
  const { redis, keys } = deps;
  const nodes = await redis.smembers(keys.hubs);
  const deadHubs: string[] = [];
  for (const node of nodes) {
    if (await redis.exists(keys.hubAlive(node))) continue;
    deadHubs.push(node);
    // What it held, partition by partition (each partition's hash lives in its own slot).
    const shares = await Promise.all(keys.all.map((k) => redis.hgetall(k.hubHosts(node))));
    const held: Record<string, string> = Object.assign({}, ...shares);
    // The hub was last alive at most one TTL ago, so that much of the timeout has already run.
    // But never less than half a TTL: a hub that only stalled (a loaded machine, a slow Redis)
    // gets that long to beat again, and its check is then skipped (its hosts never blink).
    // packages/core/src/config.ts counts this wait in the crash bound.
    const delay = Math.max(deps.offlineTimeoutMs - deps.hubTtlMs, Math.floor(deps.hubTtlMs / 2));
    for (const [hostId, epochText] of Object.entries(held)) {
      const epoch = Number(epochText);
      await deps.presenceQueue.add("offline", { host_id: hostId, epoch, node }, offlineJobOptions(hostId, epoch, delay));
    }
    // Forgotten only once every check is scheduled; a crash before this sweeps the hub again. Only
    // the entries read: one the hub wrote since (it beat again) stays, and each one removed has
    // its check scheduled above (which restores it if the hub is alive after all).
    await Promise.all(
      keys.all.flatMap((k, i) => {
        const fields = Object.keys(shares[i]!);
        return fields.length > 0 ? [redis.hdel(k.hubHosts(node), ...fields)] : [];
      }),
    );
    await redis.srem(keys.hubs, node);
    // A hub that stopped cleanly handed its hosts over already; only a silent death leaves some.
    const n = Object.keys(held).length;
    if (n > 0) deps.log.warn({ hub: node, hosts: n }, "hub died without closing its sockets; offline checks scheduled");
    else deps.log.info({ hub: node }, "hub left");
  }
  for (const log of deps.logs) await log.trimByAge(deps.clock.now(), deps.logMaxAgeMs);
  return { deadHubs };
}
