/** The partitioned event id (partition-cursor.ts): today's id for one partition, an exact vector for more. */
import fc from "fast-check";
import { formatEventId, parseEventId } from "../src/browser-frame";
import { cursorEpochsMatch, formatCursorId, NO_POSITION, parseCursorId, type PartitionCursor } from "../src/partition-cursor";

const ms = fc.integer({ min: 0, max: 9_999_999_999_999 });
const streamId = fc.tuple(ms, fc.integer({ min: 0, max: 99_999_999 })).map(([m, s]) => `${m}-${s}`);
/** Positions as a live deployment has them: near one another in time, some partitions not yet written. */
const nearby = (base: number) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(NO_POSITION) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.integer({ min: -5_000, max: 5_000 }), fc.oneof(fc.constant(0), fc.nat({ max: 50 })))
        .map(([d, s]) => `${Math.min(9_999_999_999_999, Math.max(0, base + d))}-${s}`),
    },
  );
const epoch = fc.stringMatching(/^[0-9a-f]{8}$/);

/** n > 1 partitions' positions (far apart or close), the head's partition, and their epochs. */
const cursorCase = fc.integer({ min: 2, max: 64 }).chain((n) =>
  fc.record({
    at: fc.nat({ max: n - 1 }),
    head: streamId,
    positions: fc.oneof(
      fc.array(fc.oneof(streamId, fc.constant(NO_POSITION)), { minLength: n, maxLength: n }),
      ms.chain((base) => fc.array(nearby(base), { minLength: n, maxLength: n })),
    ),
    epochs: fc.array(epoch, { minLength: n, maxLength: n }),
  }),
);
const cursorOf = ({ at, head, positions }: { at: number; head: string; positions: string[] }): PartitionCursor => ({
  at,
  positions: positions.map((p, i) => (i === at ? head : p)),
});

describe("one partition: exactly today's id", () => {
  test("format and parse are browser-frame's", () => {
    fc.assert(
      fc.property(streamId, epoch, (sid, e) => {
        const id = formatCursorId({ at: 0, positions: [sid] }, [e]);
        expect(id).toBe(formatEventId(sid, e));
        expect(id).toMatch(/^\d{13}-\d{8}-[0-9a-f]{8}$/);
        const parsed = parseCursorId(id, 1)!;
        expect(parsed).toEqual({ at: 0, positions: [parseEventId(id)!.streamId], stamp: e });
        expect(cursorEpochsMatch(parsed, [e])).toBe(true);
        expect(cursorEpochsMatch(parsed, [`${e}0`])).toBe(false);
      }),
    );
  });
});

describe("more partitions", () => {
  test("round trip: every partition's position and the partition of the event come back exactly", () => {
    fc.assert(
      fc.property(cursorCase, (c) => {
        const cursor = cursorOf(c);
        const id = formatCursorId(cursor, c.epochs);
        const parsed = parseCursorId(id, c.positions.length)!;
        expect(parsed).toMatchObject({ at: cursor.at, positions: cursor.positions });
        expect(cursorEpochsMatch(parsed, c.epochs)).toBe(true);
        // URL-safe (it goes into `?after=` as is) and no quote (frames carry it raw).
        expect(encodeURIComponent(id)).toBe(id);
        // Read as another partition count, it is none of ours.
        expect(parseCursorId(id, c.positions.length + 1)).toBeNull();
      }),
    );
  });

  test("a new epoch in any partition the cursor has a position in makes it foreign (resync)", () => {
    fc.assert(
      fc.property(cursorCase, fc.nat(), (c, r) => {
        const cursor = cursorOf(c);
        const parsed = parseCursorId(formatCursorId(cursor, c.epochs), c.positions.length)!;
        const q = r % c.positions.length;
        const changed = c.epochs.map((e, i) => (i === q ? `x${e}` : e));
        // A partition it has no position in resumes from its start: exact whatever its epoch.
        expect(cursorEpochsMatch(parsed, changed)).toBe(cursor.positions[q] === NO_POSITION);
      }),
    );
  });

  test("ids of one partition (so of one host) sort as strings in log order, whatever the others' positions", () => {
    fc.assert(
      fc.property(cursorCase, streamId, fc.array(fc.oneof(streamId, fc.constant(NO_POSITION)), { maxLength: 64 }), (c, later, other) => {
        const a = cursorOf(c);
        const b: PartitionCursor = { at: a.at, positions: a.positions.map((p, i) => (i === a.at ? later : (other[i] ?? p))) };
        const [am, as] = a.positions[a.at]!.split("-").map(Number) as [number, number];
        const [bm, bs] = later.split("-").map(Number) as [number, number];
        const order = Math.sign(am - bm || as - bs);
        const ia = formatCursorId(a, c.epochs);
        const ib = formatCursorId(b, c.epochs);
        if (order !== 0) expect(Math.sign(ia < ib ? -1 : 1)).toBe(order);
      }),
    );
  });

  test("compact: 8 live partitions within a second of each other fit in 80 characters", () => {
    const base = 1_795_311_252_783;
    const positions = Array.from({ length: 8 }, (_, p) => `${base - p * 111}-${p % 3}`);
    const id = formatCursorId(
      { at: 0, positions },
      Array.from({ length: 8 }, (_, p) => `e${p}`.padEnd(8, "0")),
    );
    expect(id.length).toBeLessThanOrEqual(80);
    expect(id).toMatch(/^1795311252783-00000000-0\.[0-9a-z]{10}\.33_1\.66_2\.99\.cc_1/);
  });

  test("`0` (before the first event) parses for any partition count and resumes in any epoch", () => {
    for (const n of [1, 2, 8]) {
      const origin = parseCursorId("0", n)!;
      expect(origin.positions).toEqual(Array<string>(n).fill(NO_POSITION));
      expect(cursorEpochsMatch(origin, Array<string>(n).fill("abcdef01"))).toBe(true);
    }
  });

  test("ids that are not ours, or not in the one canonical spelling, do not parse", () => {
    const good = formatCursorId({ at: 1, positions: ["1795311252783-0", "1795311252790-4", NO_POSITION] }, ["a", "b", "c"]);
    expect(good).toMatch(/^1795311252790-00000004-1\.[0-9a-z]{10}\.7\.$/);
    const stamp = good.slice(25, 35);
    for (const bad of [
      "",
      "1795311252790-00000004-ab12cd34", // today's form, read with 3 partitions
      good.replace(".7.", ".07."), // a leading zero
      good.replace(".7.", ".7_0."), // a zero seq written out
      `1795311252790-00000004-1.${stamp}.~0.`, // "later by 0"
      `1795311252790-00000004-3.${stamp}.7.`, // no partition 3
      `1795311252790-00000004-01.${stamp}.7.`,
      `1795311252790-00000004-1.${stamp}.7`, // a position missing
      `1795311252790-00000004-1.${stamp}.7..`, // one too many
      `1795311252790-00000004-1.${stamp}.zzzzzzzzzz.`, // before the epoch of time
      `${good}"`,
    ]) {
      expect(parseCursorId(bad, 3)).toBeNull();
    }
    expect(parseCursorId(good, 3)).toMatchObject({ at: 1, positions: ["1795311252783-0", "1795311252790-4", NO_POSITION] });
  });

  test("refuses to format a cursor whose shape does not match its epochs", () => {
    expect(() => formatCursorId({ at: 2, positions: ["1-0", "2-0"] }, ["a", "b"])).toThrow(RangeError);
    expect(() => formatCursorId({ at: 0, positions: ["1-0", "2-0"] }, ["a"])).toThrow(RangeError);
  });
});
