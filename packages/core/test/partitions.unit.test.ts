/** The partition map (partitions.ts): host hash, slot tags, partitioned keys, command ids. */
import { createHash } from "node:crypto";
import calculateSlot from "cluster-key-slot";
import fc from "fast-check";
import { CommandIdSchema } from "@tether/protocol";
import { createKeys, type Keys } from "../src/keys";
import {
  CLUSTER_SLOTS,
  commandIdFor,
  createPartitionedKeys,
  type GlobalKeys,
  MAX_PARTITIONS,
  PARTITION_KEY_NAMES,
  partitionOf,
  partitionOfCommandId,
  partitionRangeStart,
  partitionSlot,
  partitionTag,
} from "../src/partitions";

const uuid = fc.uuid({ version: 4 });
const count = fc.integer({ min: 2, max: MAX_PARTITIONS });

/**
 * The slot ranges `redis-cli --cluster create` gives m masters (clusterManagerCommandCreate in
 * redis-cli.c: a float cursor advanced by 16384/m, each range ending at lround(cursor + per - 1)).
 */
const cliMasterRanges = (m: number): Array<[number, number]> => {
  const per = Math.fround(CLUSTER_SLOTS / m);
  const ranges: Array<[number, number]> = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < m; i++) {
    let last = Math.round(Math.fround(cursor + per - 1));
    if (last > CLUSTER_SLOTS || i === m - 1) last = CLUSTER_SLOTS - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor = Math.fround(cursor + per);
  }
  return ranges;
};

const partitionsPerMaster = (n: number, m: number): number[] => {
  const ranges = cliMasterRanges(m);
  const counts = ranges.map(() => 0);
  for (let p = 0; p < n; p++) {
    const slot = calculateSlot(`{${partitionTag(p, n)}}`);
    counts[ranges.findIndex(([a, b]) => slot >= a && slot <= b)]!++;
  }
  return counts;
};

describe("partitionOf", () => {
  test("one partition: always 0", () => {
    fc.assert(fc.property(uuid, (h) => partitionOf(h, 1) === 0));
  });

  test("in 0..n-1 and the same every time", () => {
    fc.assert(
      fc.property(uuid, count, (h, n) => {
        const p = partitionOf(h, n);
        return Number.isInteger(p) && p >= 0 && p < n && partitionOf(h, n) === p;
      }),
    );
  });

  test("is FNV-1a 32 of the UTF-8 bytes, mod n: published vectors, and ids pinned forever", () => {
    // FNV-1a 32("a") = 0xe40c292c, ("foobar") = 0xbf9cf968 (the FNV reference test vectors).
    expect(partitionOf("a", 256)).toBe(0x2c);
    expect(partitionOf("foobar", 256)).toBe(0x68);
    expect(partitionOf("foobar", 251)).toBe(0xbf9cf968 % 251);
    expect(partitionOf("", 256)).toBe(0x811c9dc5 % 256);
    // Where these hosts' data lives in every deployment: a change here moves data.
    expect(partitionOf("00000000-0000-4000-8000-000000000000", 8)).toBe(5);
    expect(partitionOf("3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d", 8)).toBe(6);
    expect(partitionOf("ffffffff-ffff-4fff-bfff-ffffffffffff", 64)).toBe(11);
  });

  test("spreads host ids evenly (16,000 ids over 8 partitions, each within 10% of 2,000)", () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 16_000; i++) {
      // Deterministic v4-shaped ids: the same run every time, no flake.
      const hex = createHash("sha256").update(String(i)).digest("hex");
      const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
      counts[partitionOf(id, 8)]!++;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  test("refuses a partition count outside 1..MAX_PARTITIONS", () => {
    for (const n of [0, -1, 1.5, MAX_PARTITIONS + 1, Number.NaN]) expect(() => partitionOf("a", n)).toThrow(RangeError);
  });
});

describe("partition tags", () => {
  test("n in 1..64 (and 256): every partition's tag hashes to its slot, inside its own share of the slots", () => {
    for (const n of [...Array.from({ length: 64 }, (_, i) => i + 1), 128, MAX_PARTITIONS]) {
      for (let p = 0; p < n; p++) {
        const slot = calculateSlot(`{${partitionTag(p, n)}}`);
        expect(slot).toBe(partitionSlot(p, n));
        expect(slot).toBeGreaterThanOrEqual(partitionRangeStart(p, n));
        expect(slot).toBeLessThan(p === n - 1 ? CLUSTER_SLOTS : partitionRangeStart(p + 1, n));
      }
    }
  });

  test("the master ranges modelled are redis-cli's (3 masters: 0-5460, 5461-10922, 10923-16383)", () => {
    expect(cliMasterRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
    expect(cliMasterRanges(4)).toEqual([
      [0, 4095],
      [4096, 8191],
      [8192, 12287],
      [12288, 16383],
    ]);
  });

  test("8 partitions on 3 masters: 3, 2, 3 (slots 1024…5120 | 7168, 9216 | 11264…15360)", () => {
    expect(partitionsPerMaster(8, 3)).toEqual([3, 2, 3]);
  });

  test("partitions per master differ by at most one: n in 1..64, clusters of 1..16 masters", () => {
    // The middles of n equal shares fall floor(n/m) or ceil(n/m) into each of m equal ranges.
    for (let m = 1; m <= 16; m++) {
      for (let n = 1; n <= 64; n++) {
        const counts = partitionsPerMaster(n, m);
        expect({ n, m, spread: Math.max(...counts) - Math.min(...counts) }).toEqual({ n, m, spread: n % m === 0 ? 0 : 1 });
      }
    }
  });

  test("tags are pinned forever (they decide where data lives)", () => {
    expect(Array.from({ length: 8 }, (_, p) => partitionTag(p, 8))).toEqual(["dlj", "5j7", "130", "qsu", "ng4", "7hq", "31v", "7ys"]);
    expect([0, 1, 2].map((p) => partitionTag(p, 3))).toEqual(["54h", "fjl", "1x3"]);
  });
});

/** Every key a value of `Keys` names, functions called with sample arguments. */
const keyStrings = (keys: Keys | GlobalKeys, names: readonly string[]): Record<string, string> =>
  Object.fromEntries(
    names.map((name) => {
      const k = (keys as Record<string, unknown>)[name];
      return [name, typeof k === "function" ? (k as (id: string) => string)("4b0c7a52-1d2e-4f3a-9b8c-7d6e5f4a3b2c") : String(k)];
    }),
  );

describe("createPartitionedKeys", () => {
  const prefix = "tether";
  const today = createKeys(prefix);
  const names = Object.keys(today);

  test("one partition: every key is today's, wherever it is asked for", () => {
    const keys = createPartitionedKeys(prefix, 1);
    const expected = keyStrings(today, names);
    expect(keyStrings(keys.partition(0), names)).toEqual(expected);
    fc.assert(
      fc.property(uuid, uuid, (host, command) => {
        expect(keyStrings(keys.forHost(host), names)).toEqual(expected);
        expect(keyStrings(keys.forCommand(command)!, names)).toEqual(expected);
      }),
      { numRuns: 20 },
    );
    const globalNames = names.filter((n) => !(PARTITION_KEY_NAMES as readonly string[]).includes(n));
    expect(keyStrings(keys, globalNames)).toEqual(keyStrings(today, globalNames));
    expect(keys.all).toHaveLength(1);
  });

  test("n > 1: every key an append touches for one host is in its partition's slot", () => {
    const node = "hub-1";
    fc.assert(
      fc.property(uuid, fc.integer({ min: 2, max: 64 }), (host, n) => {
        const keys = createPartitionedKeys(prefix, n);
        const p = partitionOf(host, n);
        const k = keys.forHost(host);
        const command = commandIdFor(p);
        expect(keys.forCommand(command)).toBe(k);
        const touched = [
          k.log,
          k.logEpoch,
          k.hostTeams,
          k.hostMeta(host),
          k.hosts,
          k.commands,
          k.commandMeta(command),
          k.commandOutput(command),
          k.hostCommands(host),
          k.hostPending(host),
          k.hubHosts(node),
          k.eventsChannel,
          k.hostChannel(host),
        ];
        for (const key of touched) expect(calculateSlot(key)).toBe(partitionSlot(p, n));
        expect(k.log).toBe(`${prefix}:p${p}:{${partitionTag(p, n)}}:log`);
      }),
      { numRuns: 50 },
    );
  });

  test("n > 1: global keys stay today's; partitions' keys are their own", () => {
    const keys = createPartitionedKeys(prefix, 8);
    const globalNames = names.filter((n) => !(PARTITION_KEY_NAMES as readonly string[]).includes(n));
    for (const part of keys.all) {
      expect(keyStrings(part, globalNames)).toEqual(keyStrings(today, globalNames));
      for (const name of PARTITION_KEY_NAMES) expect(keyStrings(part, [name])).not.toEqual(keyStrings(today, [name]));
    }
    expect(new Set(keys.all.map((k) => k.log)).size).toBe(8);
    expect(keyStrings(keys, globalNames)).toEqual(keyStrings(today, globalNames));
    expect("log" in keys).toBe(false);
    expect(keys.partition(3)).toBe(keys.all[3]);
    expect(() => keys.partition(8)).toThrow(RangeError);
  });

  test("n > 1: a prefix with a brace is refused (its `{…}` would be every key's tag)", () => {
    expect(() => createPartitionedKeys("te{th}er", 8)).toThrow(/REDIS_PREFIX/);
    expect(createPartitionedKeys("te{th}er", 1).partition(0).log).toBe("te{th}er:log");
  });
});

describe("command ids", () => {
  test("round trip: the id names its partition, and is still a v4 UUID the protocol accepts", () => {
    fc.assert(
      fc.property(count, fc.nat(), uuid, (n, r, random) => {
        const p = r % n;
        const id = commandIdFor(p, random);
        expect(partitionOfCommandId(id, n)).toBe(p);
        expect(CommandIdSchema.safeParse(id).success).toBe(true);
        expect(CommandIdSchema.safeParse(commandIdFor(p)).success).toBe(true);
      }),
    );
  });

  test("an id of a partition this deployment has not is none of ours; with one partition every id is partition 0", () => {
    expect(partitionOfCommandId(commandIdFor(9), 8)).toBeNull();
    expect(createPartitionedKeys("t", 8).forCommand(commandIdFor(200))).toBeNull();
    fc.assert(fc.property(uuid, (id) => partitionOfCommandId(id, 1) === 0));
    expect(() => commandIdFor(MAX_PARTITIONS)).toThrow(RangeError);
  });
});
