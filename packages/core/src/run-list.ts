import type { Cluster, Redis } from "ioredis";
import type { Run } from "@tether/protocol";
import type { Partition } from "./partition-set";

/** One partition's listing, read a page at a time, newest first. */
interface Cursor {
  part: Partition;
  /** Rank (in ZREVRANGE order) of the next entry to read. */
  next: number;
  buf: Array<{ id: string; score: number; json: string | null }>;
  done: boolean;
}

/** ZREVRANGE's order: higher score first, then (same score) the greater id. */
const newer = (a: { id: string; score: number }, b: { id: string; score: number }) =>
  a.score > b.score || (a.score === b.score && a.id > b.id);

/**
 * Run ids newest first over every partition's listing (`runsByTime`, each run in its home
 * partition), created before run `before` (exclusive) when given, that `visible` lets through, at
 * most `limit`; null when `before` is not a run. A k-way merge in ZREVRANGE's order (created_at,
 * then id, both descending), so a page boundary falls at the same run whichever partition holds
 * it, and with one partition it is exactly that partition's ZREVRANGE.
 */
export async function listRunIds(
  redis: Redis | Cluster,
  parts: readonly Partition[],
  homeOf: (runId: string) => Partition,
  limit: number,
  before: string | undefined,
  visible: (run: Run) => boolean,
): Promise<string[] | null> {
  const page = Math.max(limit, 100);
  let starts = parts.map(() => 0);
  if (before !== undefined) {
    const home = homeOf(before);
    const score = await redis.zscore(home.keys.runsByTime, before);
    if (score === null) return null;
    starts = await Promise.all(
      parts.map(async (p) => {
        if (p === home) return ((await redis.zrevrank(p.keys.runsByTime, before)) ?? -1) + 1;
        // Entries ahead of `before` in this partition: a higher score, or the same and a greater id.
        const higher = await redis.zcount(p.keys.runsByTime, `(${score}`, "+inf");
        const ties = await redis.zrangebyscore(p.keys.runsByTime, score, score);
        return higher + ties.filter((id) => id > before).length;
      }),
    );
  }
  const cursors: Cursor[] = parts.map((part, i) => ({ part, next: starts[i]!, buf: [], done: false }));
  const fill = async (c: Cursor) => {
    if (c.buf.length || c.done) return;
    const flat = await redis.zrevrange(c.part.keys.runsByTime, c.next, c.next + page - 1, "WITHSCORES");
    const ids = flat.filter((_v, i) => i % 2 === 0);
    c.done = ids.length < page;
    c.next += ids.length;
    if (!ids.length) return;
    const jsons = await redis.hmget(c.part.keys.runs, ...ids);
    c.buf = ids.map((id, i) => ({ id, score: Number(flat[2 * i + 1]), json: jsons[i] ?? null }));
  };
  const out: string[] = [];
  for (;;) {
    await Promise.all(cursors.map(fill));
    // Merge until enough are taken or a partition's buffer ran dry (refill it before going on).
    for (;;) {
      if (out.length >= limit) return out;
      if (cursors.some((c) => !c.buf.length && !c.done)) break;
      let best: Cursor | undefined;
      for (const c of cursors) if (c.buf.length && (!best || newer(c.buf[0]!, best.buf[0]!))) best = c;
      if (!best) return out;
      const head = best.buf.shift()!;
      if (head.json && visible(JSON.parse(head.json) as Run)) out.push(head.id);
    }
  }
}
