/**
 * Reading the event log of every partition as one (issue 16, CONTRACT §7): where a client's id
 * resumes each partition, the events after it merged by time, and each frame's id as the cursor of
 * its reader (partition-cursor.ts). The browser relay's replay and `GET /api/events` both read
 * through it. With one partition it is today's log exactly: the same resume rule, the same ids.
 */
import type { Cluster, Redis } from "ioredis";
import { ORIGIN_ID, formatEventId } from "./browser-frame";
import type { EventLog, LoggedFrame } from "./event-log";
import type { Keys } from "./keys";
import { NO_POSITION, cursorEpochsMatch, formatCursorId, parseCursorId } from "./partition-cursor";

/** Where a read starts: per partition its log's epoch and the stream id read after ({@link NO_POSITION}: its start). */
export interface LogStart {
  epochs: string[];
  positions: string[];
}

/** A logged event of partition `p` at `head` (its id's fixed-width `<ms>-<seq>`, which sorts as a string). */
export interface PartitionFrame extends LoggedFrame {
  p: number;
  head: string;
}

const ID_KEY = '"id":"';
/** `<ms, 13 digits>-<seq, 8 digits>`: the part of an event id that orders it within its partition. */
export const HEAD_LENGTH = 22;

/** The head of a stream id (`ms-seq`), as event ids spell it: heads of one partition sort as strings. */
export const headOf = (streamId: string): string => (streamId === NO_POSITION ? "" : formatEventId(streamId, "").slice(0, HEAD_LENGTH));

/** The stream id of a head ('' = {@link NO_POSITION}). */
export const streamIdOf = (head: string): string =>
  head === "" ? NO_POSITION : `${Number(head.slice(0, 13))}-${Number(head.slice(14, HEAD_LENGTH))}`;

/** A frame (text) with its id replaced: the id is the second field, after the type. */
export function withId(frame: string, id: string): string {
  const at = frame.indexOf(ID_KEY) + ID_KEY.length;
  return frame.slice(0, at) + id + frame.slice(frame.indexOf('"', at));
}

const headOfFrame = (frame: string): string => {
  const at = frame.indexOf(ID_KEY) + ID_KEY.length;
  return frame.slice(at, at + HEAD_LENGTH);
};

/** The id of the event at `heads[p]` for a reader standing at `heads` (one per partition, '' = none yet). */
export function cursorId(p: number, heads: readonly string[], epochs: readonly string[]): string {
  if (heads.length === 1) return heads[0] ? `${heads[0]}-${epochs[0]}` : ORIGIN_ID;
  return formatCursorId({ at: p, positions: heads.map(streamIdOf) }, epochs);
}

/** Compare two stream ids (`ms-seq`) numerically. */
function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

export class LogReader {
  constructor(
    /** The log of each partition (index = partition). */
    private readonly logs: readonly EventLog[],
    /** Each partition's keys (index = partition). */
    private readonly keys: readonly Keys[],
    private readonly redis: Redis | Cluster,
  ) {}

  get partitions(): number {
    return this.logs.length;
  }

  /** Each partition's current epoch ('' where nothing was logged yet). */
  async epochs(): Promise<string[]> {
    return Promise.all(this.logs.map((log) => log.epoch()));
  }

  /** Reading from the start of every partition. */
  async fromStart(): Promise<LogStart> {
    return { epochs: await this.epochs(), positions: this.logs.map(() => NO_POSITION) };
  }

  /**
   * Where a client that saw everything up to `after` resumes, or null when it cannot resume
   * exactly (another epoch in a partition it has a position in, a position trimmed away or never
   * logged, a malformed id): it must then resync from a snapshot.
   */
  async resume(after: string): Promise<LogStart | null> {
    if (this.logs.length === 1) {
      const point = await this.logs[0]!.resumePoint(after);
      return point && { epochs: [point.epoch], positions: [point.streamId === "-" ? NO_POSITION : point.streamId] };
    }
    const cursor = parseCursorId(after, this.logs.length);
    if (!cursor) return null;
    const states = await Promise.all(this.keys.map((k) => this.streamState(k)));
    const epochs = states.map((s) => s.epoch);
    if (!cursorEpochsMatch(cursor, epochs)) return null;
    // Exact iff nothing after the position was trimmed (trimming takes the oldest: nothing was, or
    // the position is at or past the oldest entry kept), and the position is not past what was logged.
    for (const [p, s] of states.entries()) {
      const position = cursor.positions[p]!;
      if (!s.stream) {
        if (position !== NO_POSITION) return null;
        continue;
      }
      const { intact, first, lastGenerated } = s.stream;
      if (compareStreamIds(position, lastGenerated) > 0) return null;
      if (!intact && compareStreamIds(position, first ?? lastGenerated) < 0) return null;
    }
    return { epochs, positions: [...cursor.positions] };
  }

  /** A partition's epoch and its stream's bounds, as of one moment (one slot: the log and its epoch share a tag). */
  private async streamState(
    keys: Keys,
  ): Promise<{ epoch: string; stream: { intact: boolean; first: string | null; lastGenerated: string } | null }> {
    const [epochRes, infoRes] = (await this.redis.multi().get(keys.logEpoch).call("XINFO", "STREAM", keys.log).exec()) as [
      [Error | null, string | null],
      [Error | null, unknown[] | null],
    ];
    if (epochRes[0]) throw epochRes[0];
    if (infoRes[0] && !/no such key/i.test(infoRes[0].message)) throw infoRes[0];
    const info = infoRes[0] ? null : infoRes[1];
    const field = (name: string) => info![info!.indexOf(name) + 1];
    // (A missing stream: an error on one Redis, an empty reply in a MULTI on a Cluster.)
    const length = info ? Number(field("length")) : 0;
    return {
      epoch: epochRes[1] ?? "",
      stream: info
        ? {
            // Trimming does not move max-deleted-entry-id; entries-added against length tells.
            intact: Number(field("entries-added")) === length,
            first: length > 0 ? String(field("recorded-first-entry-id")) : null,
            lastGenerated: String(field("last-generated-id")),
          }
        : null,
    };
  }

  /**
   * Every event after `start`, the partitions merged by time (then by partition): each
   * partition's own order always, across partitions as their clocks say. Read in pages of
   * `pageSize` per partition, so a long log is never held at once.
   */
  async *read(start: LogStart, pageSize: number): AsyncGenerator<PartitionFrame> {
    const n = this.logs.length;
    const after = [...start.positions];
    const pages: PartitionFrame[][] = [];
    const more: boolean[] = [];
    const fill = async (p: number) => {
      const { entries, lastStreamId } = await this.logs[p]!.readFrames(start.epochs[p]!, after[p]!, pageSize);
      pages[p] = entries.map((e) => ({ ...e, p, head: headOfFrame(e.frame) }));
      more[p] = entries.length === pageSize && lastStreamId !== null;
      if (lastStreamId) after[p] = lastStreamId;
    };
    await Promise.all(Array.from({ length: n }, (_, p) => fill(p)));
    for (;;) {
      let next = -1;
      for (let p = 0; p < n; p++) {
        const head = pages[p]![0]?.head;
        if (head !== undefined && (next < 0 || head < pages[next]![0]!.head)) next = p;
      }
      if (next < 0) return;
      const page = pages[next]!;
      yield page.shift()!;
      if (page.length === 0 && more[next]) await fill(next);
    }
  }
}
