import type { OutputStream } from "@tether/protocol";
import { MAX_CARRY, UNFINISHED } from "./ansi";

/**
 * The xterm-256 palette index stderr is drawn in (#ff8787, near the dashboard's
 * `--console-err`). Not plain ANSI red (31), so a host's own red on stdout is not mistaken
 * for stderr.
 */
export const STDERR_COLOR = 210;

const STDERR_ON = `\u001b[38;5;${STDERR_COLOR}m`;
/** Default foreground only: bold, underline… that the host set stay as the host set them. */
const STDERR_OFF = "\u001b[39m";

/**
 * DEC private modes dropped from host output: mouse tracking (it would turn the view's
 * mouse selection into reports nobody reads) and focus reporting. Everything else (cursor
 * visibility, wrap, …) passes.
 */
const DROPPED_MODES = new Set(["9", "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1015", "1016"]);

// A complete CSI sequence: parameters, intermediates, final byte.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CSI = /\u001b\[([0-?]*)([ -/]*)([@-~])/g;

/**
 * Turns one command's output chunks into what the terminal view writes, per stream:
 *
 * - an escape sequence cut at a chunk's end is held back until that stream's next chunk
 *   completes it (stdout and stderr interleave, and each has its own half-sequences);
 * - stderr is wrapped in {@link STDERR_COLOR} and its own resets of the foreground (`ESC[0m`,
 *   `ESC[m`, `ESC[39m`) fall back to that colour rather than to the default;
 * - mouse-tracking modes are dropped (see {@link DROPPED_MODES}).
 *
 * The text stays text: nothing here is ever HTML. DOM-free, so it is unit-tested.
 */
export class TerminalStream {
  private readonly carry: Record<OutputStream, string> = { stdout: "", stderr: "" };
  private newlines = 0;

  /** Newlines received so far (the count the view shows as `data-lines`). */
  get lines(): number {
    return this.newlines;
  }

  /** The text to write to the terminal for one chunk (may be empty while a sequence is incomplete). */
  push(stream: OutputStream, data: string): string {
    this.newlines += countNewlines(data);
    let text = this.carry[stream] + data;
    this.carry[stream] = "";
    if (text.includes("\u001b") || text.includes("\u009b")) {
      const tail = UNFINISHED.exec(text);
      if (tail && tail[0].length > 0) {
        text = text.slice(0, tail.index);
        if (tail[0].length <= MAX_CARRY) this.carry[stream] = tail[0];
      }
      text = text.replace(CSI, (whole, params: string, between: string, final: string) =>
        rewriteCsi(whole, params, between, final, stream === "stderr"),
      );
    }
    if (stream === "stderr" && text !== "") return STDERR_ON + text + STDERR_OFF;
    return text;
  }
}

function rewriteCsi(whole: string, params: string, between: string, final: string, stderr: boolean): string {
  if (between !== "") return whole;
  if (final === "m" && stderr && !/^[<=>?]/.test(params)) return `\u001b[${rewriteSgr(params, stderr)}m`;
  if ((final === "h" || final === "l") && params.startsWith("?")) {
    const kept = params
      .slice(1)
      .split(";")
      .filter((mode) => !DROPPED_MODES.has(mode));
    return kept.length === 0 ? "" : `\u001b[?${kept.join(";")}${final}`;
  }
  return whole;
}

/** On stderr, SGR parameters that reset the foreground (`0`, empty, `39`) fall back to the stderr colour. */
function rewriteSgr(params: string, stderr: boolean): string {
  if (!stderr) return params;
  const list = params === "" ? ["0"] : params.split(";");
  let resetsForeground = false;
  for (let i = 0; i < list.length; i++) {
    const param = list[i] as string;
    // `38;5;n` / `48;5;n` / `38;2;r;g;b`: their numbers are values, not attributes.
    if ((param === "38" || param === "48" || param === "58") && (list[i + 1] === "5" || list[i + 1] === "2")) {
      if (param === "38") resetsForeground = false;
      i += list[i + 1] === "5" ? 2 : 4;
    } else if (param === "0" || param === "" || param === "39") resetsForeground = true;
    else if (/^(3[0-7]|9[0-7])$/.test(param) || param.startsWith("38:")) resetsForeground = false;
  }
  return resetsForeground ? `${list.join(";")};38;5;${STDERR_COLOR}` : params;
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}
