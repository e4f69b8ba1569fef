/**
 * The browser-frame format, written down once: its encoders and its readers side by side.
 *
 * A logged event reaches browsers as the frame `{"type":"<type>","id":"<id>","ts":<ms>,"payload":<json>}`,
 * in that order and without spaces. The append scripts build it in Lua (lua/event-frame.lua) and
 * publish it; {@link formatEventFrame} builds the same bytes from the log (replay, backfill). The id
 * is `<ms, 13 digits>-<seq, 8 digits>-<epoch>` ({@link formatEventId}), so ids sort as strings
 * within one epoch.
 *
 * A published message is `<team>[ <except>]\t<frame>[\n<frame>…]`: the envelope naming its
 * audience (lua/envelope.lua, {@link formatEnvelope}), then one frame or a run of output frames.
 * A tab never occurs raw in JSON text, and team ids hold neither tab nor space, so the first tab
 * ends the envelope; JSON never holds a raw newline, so newlines split the frames. `except` (a
 * host that moved: its `host_removed` for those who saw the old team but not the new) is usually
 * absent.
 *
 * Hubs relay every event to every browser, so the readers ({@link readEnvelope}, {@link frameId},
 * {@link frameType}, {@link sameEpoch}, {@link eventIdMs}) work on the bytes by offset and never
 * parse the JSON. They rely on the order above: the type first, the id second.
 */

/** The id that stands for "before the first event". */
export const ORIGIN_ID = "0";

const EXT_ID = /^(\d{13})-(\d{8})-([A-Za-z0-9]{1,32})$/;
/** Where an id's epoch starts: after `<13 digits>-<8 digits>-`. */
const EPOCH_AT = 23;

/** External event id ↔ stream id. External ids sort as strings within one epoch. */
export function parseEventId(id: string): { streamId: string; epoch: string } | null {
  const m = EXT_ID.exec(id);
  if (!m) return null;
  return { streamId: `${Number(m[1])}-${Number(m[2])}`, epoch: m[3]! };
}

export function formatEventId(streamId: string, epoch: string): string {
  const [ms = "0", seq = "0"] = streamId.split("-");
  return `${ms.padStart(13, "0")}-${seq.padStart(8, "0")}-${epoch}`;
}

/** Whether two external ids are of the same epoch (the log was not lost between them). */
export function sameEpoch(a: string, b: string): boolean {
  return a.slice(EPOCH_AT) === b.slice(EPOCH_AT);
}

/** The time (ms) an external id was logged at. */
export function eventIdMs(id: string): number {
  return Number(id.slice(0, 13));
}

/** A frame of `type` with this id, time and payload (JSON already). */
export function formatFrame(type: string, id: string, ts: number | string, payloadJson: string): string {
  return `{"type":"${type}","id":"${id}","ts":${ts},"payload":${payloadJson}}`;
}

/** The browser frame for a logged event; byte-identical to what the append scripts publish. */
export function formatEventFrame(streamId: string, epoch: string, type: string, payloadJson: string): string {
  return formatFrame(type, formatEventId(streamId, epoch), streamId.slice(0, streamId.indexOf("-")), payloadJson);
}

const ID_KEY = Buffer.from('"id":"');
const QUOTE = 34;
/** `{"type":"` */
const TYPE_AT = 9;
/** The id follows the type, near the start: searched for in this many bytes. */
const ID_WITHIN = 160;

/** The id inside a frame: `{"type":"…","id":"<id>",…`, read without parsing it all ('' if none). */
export function frameId(frame: Buffer): string {
  // Searched in the bytes: only the id itself becomes a string.
  const at = (frame.length > ID_WITHIN ? frame.subarray(0, ID_WITHIN) : frame).indexOf(ID_KEY);
  if (at < 0) return "";
  const end = frame.indexOf(QUOTE, at + ID_KEY.length);
  return end < 0 ? "" : frame.toString("latin1", at + ID_KEY.length, end);
}

/** The type of a frame, which starts `{"type":"<type>"` ('unknown' if it does not). */
export function frameType(frame: Buffer): string {
  const end = frame.indexOf(QUOTE, TYPE_AT); // the closing quote
  return end > TYPE_AT ? frame.toString("latin1", TYPE_AT, end) : "unknown";
}

const TAB = 9;
const SPACE = 32;
/** A team id is at most 48 characters: two and their separators fit well inside this. */
const MAX_HEAD = 128;

export interface Envelope {
  team: string;
  /** '' when none. */
  except: string;
  /** The frames, newline-separated. */
  body: Buffer;
}

/** Split a published message into its audience and its frames; null when it has no envelope. */
export function readEnvelope(message: Buffer): Envelope | null {
  const tab = message.subarray(0, MAX_HEAD).indexOf(TAB);
  if (tab < 0) return null;
  const space = message.subarray(0, tab).indexOf(SPACE);
  const team = message.toString("latin1", 0, space < 0 ? tab : space);
  const except = space < 0 ? "" : message.toString("latin1", space + 1, tab);
  return { team, except, body: message.subarray(tab + 1) };
}

/** The message for `frames` addressed to `team` (the same bytes the scripts publish). */
export function formatEnvelope(team: string, except: string, frames: string): string {
  return `${team}${except ? ` ${except}` : ""}\t${frames}`;
}
