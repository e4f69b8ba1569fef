import fc from "fast-check";
import type { Chunk } from "@tether/protocol";
import { SeqMerger } from "../src/lib/seq-merger";

const chunk = (seq: number): Chunk => ({ seq, stream: seq % 3 === 0 ? "stderr" : "stdout", data: `line ${seq}\n` });
const seqs = (chunks: Chunk[]) => chunks.map((c) => c.seq);

describe("SeqMerger", () => {
  it("emits in order and drops duplicates", () => {
    const merger = new SeqMerger();
    expect(seqs(merger.push([chunk(0), chunk(1)]))).toEqual([0, 1]);
    expect(seqs(merger.push([chunk(1), chunk(0), chunk(2)]))).toEqual([2]);
  });

  it("holds chunks behind a gap until it fills (live frames before the snapshot)", () => {
    const merger = new SeqMerger();
    expect(merger.push([chunk(3), chunk(4)])).toEqual([]);
    expect(merger.hasGap).toBe(true);
    expect(seqs(merger.push([0, 1, 2, 3].map(chunk)))).toEqual([0, 1, 2, 3, 4]);
    expect(merger.hasGap).toBe(false);
    expect(merger.next).toBe(5);
  });

  it("skipGap gives up on missing chunks and releases the rest", () => {
    const merger = new SeqMerger();
    merger.push([chunk(5), chunk(7), chunk(6)]);
    const { skipped, ready } = merger.skipGap();
    expect(skipped).toBe(5);
    expect(seqs(ready)).toEqual([5, 6, 7]);
    expect(merger.skipGap()).toEqual({ skipped: 0, ready: [] });
  });

  it("yields every chunk exactly once, in order, however snapshot and live frames interleave", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (total, snapshotLength, replays) => {
          const all = Array.from({ length: total }, (_, i) => chunk(i));
          const snapshotEnd = Math.min(snapshotLength, total);
          // Live frames start somewhere at or before the snapshot's end (subscribed first),
          // and some are replayed after a resume.
          const liveStart = Math.max(0, snapshotEnd - 5);
          const live = all.slice(liveStart);
          for (const r of replays) if (live.length > 0) live.splice(r % live.length, 0, live[r % live.length] as Chunk);
          const merger = new SeqMerger();
          const out: Chunk[] = [];
          const splitAt = replays.length > 0 ? (replays[0] as number) % (live.length + 1) : 0;
          out.push(...merger.push(live.slice(0, splitAt)));
          out.push(...merger.push(all.slice(0, snapshotEnd)));
          out.push(...merger.push(live.slice(splitAt)));
          expect(seqs(out)).toEqual(seqs(all));
          expect(merger.hasGap).toBe(false);
        },
      ),
    );
  });
});
