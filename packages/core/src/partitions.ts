/**
 * The partition map for `LOG_PARTITIONS` (issue 16, CONTRACT §7): which partition a host lives in,
 * the hash tag that pins each partition to one Redis Cluster slot, the keys of each partition, and
 * command ids that name their partition. Pure: no Redis calls.
 *
 * Everything here decides where data lives, so it is fixed forever: the host hash, the tag search
 * and the key names may not change once a deployment has data under them (pinned by the tests).
 * With one partition every key is exactly `createKeys(prefix)`'s: the default deployment needs no
 * migration.
 */
import { randomUUID } from "node:crypto";
import calculateSlot from "cluster-key-slot";
import { createKeys, type Keys } from "./keys";

/** Redis Cluster's hash slots. */
export const CLUSTER_SLOTS = 16384;

/**
 * The most partitions a deployment may have: a command id holds its partition in one byte, and a
 * browser's cursor grows by a few characters per partition.
 */
export const MAX_PARTITIONS = 256;

const checkCount = (n: number) => {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) throw new RangeError(`partition count must be 1..${MAX_PARTITIONS}, got ${n}`);
};
const checkPartition = (p: number, n: number) => {
  if (!Number.isInteger(p) || p < 0 || p >= n) throw new RangeError(`partition must be 0..${n - 1}, got ${p}`);
};

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The partition (0..n-1) of a host: FNV-1a 32 of the id's UTF-8 bytes, modulo n.
 *
 * FNV-1a rather than sha256: it runs on every append to route the event and costs a multiply per
 * byte, and it can be written in a dozen lines anywhere an id must be placed (a Lua script with
 * `bit`, a tool). Host ids are random UUIDs minted by the api, so nobody can pick ids that pile onto
 * one partition, and a non-cryptographic hash spreads them evenly; the modulo's bias (2^32 mod n
 * out of 2^32) is below 1e-7.
 */
export function partitionOf(hostId: string, n: number): number {
  checkCount(n);
  if (n === 1) return 0;
  let h = FNV_OFFSET;
  for (const byte of Buffer.from(hostId, "utf8")) h = Math.imul(h ^ byte, FNV_PRIME);
  return (h >>> 0) % n;
}

/** The first slot of partition p's share of the slots: the shares are n equal contiguous ranges. */
export const partitionRangeStart = (p: number, n: number): number => Math.floor((p * CLUSTER_SLOTS) / n);

/**
 * Where each BullMQ queue lives on a cluster: one slot per queue (its scripts touch several of its
 * keys), at 1/6, 1/2 and 5/6 of the slots, so that on 3 masters with the usual even split each
 * queue has a master of its own (by name they all hashed into the last third: every job on one
 * master). `presence` carries a dead hub's storm of offline checks, so it sits in the middle
 * third, whose master serves one partition fewer of 8 (3/2/3).
 */
const QUEUE_SLOTS: Record<string, number> = { commands: 2730, presence: 8192, runs: 13653 };

/**
 * The hash tag of a queue on a cluster: `<queue>~<k>` with the smallest base-36 k that hashes to the
 * queue's slot ({@link QUEUE_SLOTS}; another queue name is its own tag). Fixed forever, like the
 * partition tags: the queue's keys are found by it.
 */
export function queueTag(queue: string): string {
  const slot = QUEUE_SLOTS[queue];
  if (slot === undefined) return queue;
  for (let k = 0; ; k++) {
    const tag = `${queue}~${k.toString(36)}`;
    if (calculateSlot(tag) === slot) return tag;
  }
}

/**
 * Slot → the shortest tag hashing to it: the base-36 form of the smallest k ≥ 0 whose CRC16 is that
 * slot (every slot is reached by k < 36^4). Built on first use (~60 ms, once per process), never at import.
 */
let tagOfSlot: string[] | undefined;
const slotTag = (slot: number): string => {
  if (!tagOfSlot) {
    const table = new Array<string>(CLUSTER_SLOTS);
    for (let k = 0, left = CLUSTER_SLOTS; left > 0; k++) {
      const tag = k.toString(36);
      const s = calculateSlot(tag);
      if (table[s] === undefined) {
        table[s] = tag;
        left--;
      }
    }
    tagOfSlot = table;
  }
  return tagOfSlot[slot]!;
};

/**
 * The slot partition p of n lives in: the middle of its share of the slots.
 *
 * The middle, not merely somewhere inside the share: `redis-cli --cluster create` gives m masters
 * m equal contiguous ranges, and n points spaced evenly at the middles of n equal ranges fall
 * floor(n/m) or ceil(n/m) to each of them, so the partitions per master differ by at most one for
 * any master count. A slot anywhere inside its share would let the counts drift further apart.
 */
export function partitionSlot(p: number, n: number): number {
  checkCount(n);
  checkPartition(p, n);
  return Math.floor(((2 * p + 1) * CLUSTER_SLOTS) / (2 * n));
}

/** The hash tag (the text inside `{…}`) of partition p of n: the shortest string whose slot is {@link partitionSlot}. */
export function partitionTag(p: number, n: number): string {
  return slotTag(partitionSlot(p, n));
}

/**
 * The keys that live in a partition: everything a script touches for one host's event (the log,
 * its epoch, the host and command records, the host's team for addressing, the hub's held hosts)
 * and the channels its events ring, and the runs homed there and the count shards of runs with
 * commands there. The rest is global, low-rate state.
 */
export const PARTITION_KEY_NAMES = [
  "log",
  "logEpoch",
  "eventsChannel",
  "hostChannel",
  "hosts",
  "hostMeta",
  "hostTeams",
  "hubHosts",
  "commands",
  "commandMeta",
  "commandOutput",
  "hostCommands",
  "hostPending",
  // Runs (CONTRACT §6): a run's meta, command list and listing entry live in its home partition
  // (partitionOf(run id)); its counts are sharded, one per partition holding its commands, so a
  // command's transition bumps its run's counts in the command's own slot.
  "runs",
  "runsByTime",
  "runsDirty",
  "runMeta",
  "runCounts",
  "runCommands",
] as const satisfies ReadonlyArray<keyof Keys>;
export type PartitionKeyName = (typeof PARTITION_KEY_NAMES)[number];

/** Keys that stay one per deployment: users, sessions, teams, hub liveness, tokens, audit, BullMQ. */
export type GlobalKeys = Omit<Keys, PartitionKeyName>;

export interface PartitionedKeys extends GlobalKeys {
  /** How many partitions (`LOG_PARTITIONS`). */
  readonly partitions: number;
  /**
   * Partition p's keys, as a whole {@link Keys}: its own log, records and channels, and the global
   * keys beside them, so code written for one `Keys` runs unchanged on the partition it is handed.
   */
  partition(p: number): Keys;
  /** The partition holding this host's events, records and channels. */
  forHost(hostId: string): Keys;
  /** The partition a command id names; null when it names none of this deployment's (an id to answer 404). */
  forCommand(commandId: string): Keys | null;
  /** Every partition, in order (readers that merge them, the sweep over hubs' held hosts). */
  readonly all: readonly Keys[];
}

/**
 * The keys of a deployment with n partitions. n = 1: `createKeys(prefix)` itself. n > 1: partition
 * p's keys are today's names under `<prefix>:p<p>:{<tag>}` (e.g. `tether:p3:{1kx}:log`), the
 * partition number for people reading keys, the tag for the slot; global keys keep today's names.
 */
export function createPartitionedKeys(prefix: string, n: number, opts: { cluster?: boolean } = {}): PartitionedKeys {
  checkCount(n);
  const tagged = n > 1 || opts.cluster === true;
  // A brace in the prefix would be the first `{…}` of every key and pull all of them into its slot.
  if (tagged && /[{}]/.test(prefix))
    throw new RangeError(`REDIS_PREFIX may not hold '{' or '}' with more than one partition or on a Redis Cluster: ${prefix}`);
  // On a cluster the global keys share one slot too ({g}): the scripts and MULTIs over users,
  // sessions and tokens touch several of them at once. On one Redis they keep today's names.
  const base = createKeys(opts.cluster ? `${prefix}:{${GLOBAL_TAG}}` : prefix);
  const all: Keys[] = !tagged
    ? [base]
    : Array.from({ length: n }, (_, p) => {
        const own = createKeys(`${prefix}:p${p}:{${partitionTag(p, n)}}`);
        const keys: Keys = { ...base };
        for (const name of PARTITION_KEY_NAMES) (keys as Record<PartitionKeyName, unknown>)[name] = own[name];
        return Object.freeze(keys);
      });
  const partition = (p: number): Keys => {
    checkPartition(p, n);
    return all[p]!;
  };
  const global: Partial<Keys> = { ...base };
  for (const name of PARTITION_KEY_NAMES) delete global[name];
  return {
    ...(global as GlobalKeys),
    partitions: n,
    partition,
    forHost: (hostId) => all[partitionOf(hostId, n)]!,
    forCommand: (commandId) => {
      const p = partitionOfCommandId(commandId, n);
      return p === null ? null : all[p]!;
    },
    all,
  };
}

/** The hash tag of the global keys on a Redis Cluster. */
export const GLOBAL_TAG = "g";

/** Where a command id's partition sits: its last two hex digits (the end of the v4 UUID's random node field). */
const CMD_PARTITION_AT = 34;

/**
 * A new command id for a command of a host in partition p: a random UUID v4 whose last byte is p.
 *
 * Why there: the last byte lies in the random part, away from the version (`4`) and variant
 * (`8`-`b`) digits, so the id stays a well-formed lowercase v4 that `CommandIdSchema` and every
 * client already accept, with 114 random bits left. A v8 UUID would say "custom" more honestly but
 * would change the id's schema and CONTRACT. Ids minted before partitions (random last byte) exist
 * only with one partition, where every id is partition 0: `LOG_PARTITIONS` cannot change later.
 */
export function commandIdFor(p: number, uuid: string = randomUUID()): string {
  checkPartition(p, MAX_PARTITIONS);
  return `${uuid.slice(0, CMD_PARTITION_AT)}${p.toString(16).padStart(2, "0")}`;
}

/**
 * The partition a command id names (see {@link commandIdFor}), or null when it names none of n
 * (a forged or foreign id). The id has passed `CommandIdSchema` first.
 */
export function partitionOfCommandId(commandId: string, n: number): number | null {
  checkCount(n);
  if (n === 1) return 0;
  const p = Number.parseInt(commandId.slice(CMD_PARTITION_AT), 16);
  return p < n ? p : null;
}
