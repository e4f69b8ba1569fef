/**
 * The event id with partitions (CONTRACT §7): still one opaque string per frame, but it carries a
 * browser's position in every partition, so `?after=<id>` resumes each partition exactly.
 *
 * One partition: exactly today's `<ms, 13 digits>-<seq, 8 digits>-<epoch>` (browser-frame.ts).
 * n > 1:
 *
 *     <ms, 13 digits>-<seq, 8 digits>-<at>.<stamp>(.<position>){n-1}
 *
 * - the head is the stream id of the event the id names, in partition `at` (base 36), in today's
 *   fixed-width form: ids of one partition, hence of one host, sort as strings in log order, and
 *   `eventIdMs` and `frameId` read them unchanged;
 * - `stamp` (10 base-36 digits, 48 bits of sha256) stands for the epochs of the partitions the
 *   cursor has a position in: an epoch change in any of them (that partition lost its log) makes
 *   the id foreign, and the resume a `resync`, never a silent gap;
 * - then every other partition's position in order, compact: empty for "nothing yet" (`0-0`),
 *   else its ms as a difference from the head's ms in base 36 (`~` before it when later than the
 *   head: partitions live on masters with their own clocks), then `_<seq>` in base 36 unless 0.
 *   Eight live partitions take some 60 characters.
 *
 * Only URL-safe characters (`0-9a-z - . _ ~`), no quote: the id goes into `?after=` and frames as is.
 */
import { createHash } from "node:crypto";
import { formatEventId, ORIGIN_ID, parseEventId } from "./browser-frame";
import { MAX_PARTITIONS } from "./partitions";

/** "Nothing of this partition yet": the position before its first event. */
export const NO_POSITION = "0-0";

/** A position in every partition, as a partitioned event id carries it. */
export interface PartitionCursor {
  /** The partition of the event the id names; its position leads the id. */
  at: number;
  /** Per partition, the stream id (`ms-seq`) of the last event relayed from it; {@link NO_POSITION}: none yet. */
  positions: readonly string[];
}

/** A parsed id: the cursor and the stamp of the epochs it was taken in (null: `0`, valid in any epoch). */
export interface ParsedCursor extends PartitionCursor {
  stamp: string | null;
}

const MAX_MS = 9_999_999_999_999;
const STAMP_LENGTH = 10;

const splitId = (streamId: string): [number, number] => {
  const dash = streamId.indexOf("-");
  return [Number(streamId.slice(0, dash)), Number(streamId.slice(dash + 1))];
};

/**
 * The stamp of the epochs, one per partition, for a cursor with these positions. One partition:
 * the epoch itself. More: a partition without a position is left out, since resuming it from its
 * start is exact whatever its epoch (so its first event, which creates its epoch, does not turn
 * every browser's cursor foreign).
 */
export function epochStamp(epochs: readonly string[], positions: readonly string[]): string {
  if (epochs.length === 1) return epochs[0]!;
  const counted = epochs.map((e, p) => (positions[p] === NO_POSITION ? "" : e)).join(",");
  const bits = BigInt(`0x${createHash("sha256").update(counted).digest("hex").slice(0, 12)}`);
  return bits.toString(36).padStart(STAMP_LENGTH, "0");
}

const formatPosition = (headMs: number, streamId: string): string => {
  if (streamId === NO_POSITION) return "";
  const [ms, seq] = splitId(streamId);
  const ahead = ms > headMs;
  return `${ahead ? "~" : ""}${Math.abs(headMs - ms).toString(36)}${seq ? `_${seq.toString(36)}` : ""}`;
};

const formatWithStamp = (cursor: PartitionCursor, stamp: string): string => {
  const head = cursor.positions[cursor.at]!;
  const [headMs] = splitId(head);
  let id = `${formatEventId(head, "")}${cursor.at.toString(36)}.${stamp}`;
  cursor.positions.forEach((position, p) => {
    if (p !== cursor.at) id += `.${formatPosition(headMs, position)}`;
  });
  return id;
};

/** The id of the event at `positions[at]`, carrying every partition's position and the epochs (one per partition). */
export function formatCursorId(cursor: PartitionCursor, epochs: readonly string[]): string {
  const n = cursor.positions.length;
  if (n < 1 || n > MAX_PARTITIONS || epochs.length !== n || !Number.isInteger(cursor.at) || cursor.at < 0 || cursor.at >= n) {
    throw new RangeError(`a cursor of ${n} positions, ${epochs.length} epochs, at ${cursor.at}`);
  }
  if (n === 1) return formatEventId(cursor.positions[0]!, epochs[0]!);
  return formatWithStamp(cursor, epochStamp(epochs, cursor.positions));
}

const HEAD = /^(\d{13})-(\d{8})-([0-9a-z]{1,2})\.([0-9a-z]{10})((?:\.[0-9a-z_~]*)*)$/;
const POSITION = /^(~?)([0-9a-z]{1,10})(?:_([0-9a-z]{1,11}))?$/;

const parsePosition = (headMs: number, field: string): string | null => {
  if (field === "") return NO_POSITION;
  const m = POSITION.exec(field);
  if (!m) return null;
  const delta = Number.parseInt(m[2]!, 36);
  const ms = m[1] ? headMs + delta : headMs - delta;
  const seq = m[3] ? Number.parseInt(m[3], 36) : 0;
  if (ms < 0 || ms > MAX_MS || !Number.isSafeInteger(seq)) return null;
  return `${ms}-${seq}`;
};

/**
 * An id from a frame or `?after=` for a deployment of n partitions, or null when it is not one
 * (malformed, another partition count, or not in the one canonical spelling: every cursor has
 * exactly one id, so ids compare as strings).
 */
export function parseCursorId(id: string, n: number): ParsedCursor | null {
  if (id === ORIGIN_ID) return { at: 0, positions: Array<string>(n).fill(NO_POSITION), stamp: null };
  if (n === 1) {
    const parsed = parseEventId(id);
    return parsed && { at: 0, positions: [parsed.streamId], stamp: parsed.epoch };
  }
  const m = HEAD.exec(id);
  if (!m) return null;
  const at = Number.parseInt(m[3]!, 36);
  const fields = m[5]!.split(".").slice(1);
  if (at >= n || fields.length !== n - 1) return null;
  const headMs = Number(m[1]);
  const positions: string[] = [];
  for (const field of fields) {
    const position = parsePosition(headMs, field);
    if (position === null) return null;
    positions.push(position);
  }
  positions.splice(at, 0, `${headMs}-${Number(m[2])}`);
  const cursor = { at, positions, stamp: m[4]! };
  return formatWithStamp(cursor, cursor.stamp) === id ? cursor : null;
}

/** Whether a parsed id was taken in the log epochs the partitions have now (else: `resync`). */
export function cursorEpochsMatch(cursor: ParsedCursor, epochs: readonly string[]): boolean {
  return cursor.stamp === null || (epochs.length === cursor.positions.length && cursor.stamp === epochStamp(epochs, cursor.positions));
}
