/**
 * Redis CPU per measured phase, per server (issue 16 point 7): `INFO cpu` `used_cpu_sys` +
 * `used_cpu_user` of every master before and after the phase (microsecond resolution, the
 * server's own getrusage, so it counts Redis's threads and nothing else). On a cluster it also
 * says which partitions and which hosts each master serves, so a spread can be checked against
 * what the slot layout predicts.
 */
import type { Redis } from "ioredis";
import { partitionOf, partitionSlot } from "@tether/core";
import { closeClient, newRedisClient } from "../../test/support/redis";

/** Issue 16 point 7: no master above 45% of the cluster's Redis CPU at 8 partitions and 2,000 hosts. */
export const MAX_MASTER_SHARE = 0.45;

/** One Redis server the bench measures: `redis` on a single Redis, `m0`…`m2` for the masters by slot range. */
export interface RedisServer {
  name: string;
  port: number;
  /** Its `redis-server` process (for the per-process CPU table), when it is a local child. */
  pid: number | undefined;
}

/** Redis CPU seconds a phase used, per server, and what it is divided by. */
export interface RedisLoad {
  /** CPU seconds per server (`m0`…, or `redis`), over the phase. */
  seconds: Record<string, number>;
  wallSeconds: number;
  /** Frames that reached Redis in the phase (agent frames appended, registrations, commands): the per-frame divisor. */
  frames: number;
  /** How many hosts the frames came from: 1 puts them all in one partition, many spread them. */
  hosts: number;
}

/** `used_cpu_sys` + `used_cpu_user` from an `INFO cpu` reply. */
export function parseCpuSeconds(info: string): number {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)`, "m").exec(info);
    if (!m) throw new Error(`INFO cpu has no ${name}`);
    return Number(m[1]);
  };
  return field("used_cpu_sys") + field("used_cpu_user");
}

/** Slot ranges of each master from `CLUSTER SLOTS`: [[start, end, port], …]. */
export type SlotRanges = Array<{ start: number; end: number; port: number }>;

export function parseClusterSlots(reply: unknown): SlotRanges {
  return (reply as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>).map(([start, end, master]) => ({
    start,
    end,
    port: Number(master[1]),
  }));
}

/** Partition → master name, from the slot each partition's tag hashes to (partitionSlot) and the masters' ranges. */
export function partitionMasters(partitions: number, ranges: SlotRanges, servers: readonly RedisServer[]): string[] {
  return Array.from({ length: partitions }, (_, p) => {
    const slot = partitionSlot(p, partitions);
    const range = ranges.find((r) => slot >= r.start && slot <= r.end);
    const server = servers.find((s) => s.port === range?.port);
    if (!server) throw new Error(`partition ${p} (slot ${slot}) is served by no known master`);
    return server.name;
  });
}

/** Hosts per master for these host ids (each in its partition). */
export function hostsPerMaster(hostIds: readonly string[], masterOfPartition: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of masterOfPartition) out[m] = 0;
  for (const id of hostIds) {
    const m = masterOfPartition[partitionOf(id, masterOfPartition.length)]!;
    out[m] = (out[m] ?? 0) + 1;
  }
  return out;
}

/** Reads the CPU of a fixed set of Redis servers, one plain connection each (never a cluster client: INFO is per node). */
export class RedisCpuMeter {
  private readonly clients: Redis[];

  constructor(readonly servers: readonly RedisServer[]) {
    this.clients = servers.map((s) => newRedisClient(`redis://127.0.0.1:${s.port}`, { maxRetriesPerRequest: 1 }));
  }

  /** CPU seconds each server has used since it started. */
  async read(): Promise<{ at: number; seconds: Record<string, number> }> {
    const infos = await Promise.all(this.clients.map((c) => c.info("cpu")));
    const seconds: Record<string, number> = {};
    this.servers.forEach((s, i) => (seconds[s.name] = parseCpuSeconds(infos[i]!)));
    return { at: Date.now(), seconds };
  }

  /** Starts a phase; the returned function ends it and gives the load with `frames` as the divisor. */
  async start(): Promise<(frames: number, hosts?: number) => Promise<RedisLoad>> {
    const before = await this.read();
    return async (frames, hosts = 1) => {
      const after = await this.read();
      const seconds: Record<string, number> = {};
      for (const name of Object.keys(after.seconds)) seconds[name] = after.seconds[name]! - (before.seconds[name] ?? 0);
      return { seconds, wallSeconds: Math.max(1, after.at - before.at) / 1000, frames, hosts };
    };
  }

  /** `CLUSTER SLOTS` from the first server (a cluster only). */
  async slotRanges(): Promise<SlotRanges> {
    return parseClusterSlots(await this.clients[0]!.call("CLUSTER", "SLOTS"));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => closeClient(c)));
  }
}

/** Each server's share of the phase's Redis CPU (0..1), and the largest. */
export function shares(load: RedisLoad): { each: Record<string, number>; max: number; total: number } {
  const total = Object.values(load.seconds).reduce((a, b) => a + b, 0);
  const each: Record<string, number> = {};
  for (const [name, s] of Object.entries(load.seconds)) each[name] = total > 0 ? s / total : 0;
  return { each, max: Math.max(0, ...Object.values(each)), total };
}

/** µs of Redis CPU per frame on a server (NaN without frames). */
export const usPerFrame = (seconds: number, frames: number): number => (frames > 0 ? (seconds * 1e6) / frames : Number.NaN);
