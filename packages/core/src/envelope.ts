/**
 * The published fan-out message: `<team>[ <except>]\t<frame>[\n<frame>…]`. The append scripts
 * build it in Lua; hubs read the audience from its first bytes without parsing any JSON, then
 * relay the frames verbatim. A tab never occurs raw in JSON text, and team ids hold neither tab
 * nor space, so the first tab ends the envelope. `except` (a host that moved: its `host_removed`
 * for those who saw the old team but not the new) is usually absent.
 */

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

/** The Lua that builds the envelope prefix from `team` and `except` (shared by the scripts). */
export const LUA_ENVELOPE = `
local function envelope(team, except)
  if except ~= nil and except ~= '' then return team .. ' ' .. except .. '\\t' end
  return team .. '\\t'
end
`;
