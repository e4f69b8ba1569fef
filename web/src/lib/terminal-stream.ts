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
 * - 24-bit colours (`38;2;r;g;b`) become the nearest xterm-256 colour: xterm's DOM renderer
 *   draws those with an inline `style` attribute, which the dashboard's CSP refuses;
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
  if (final === "m" && !/^[<=>?]/.test(params)) return `\u001b[${rewriteSgr(params, stderr)}m`;
  if ((final === "h" || final === "l") && params.startsWith("?")) {
    const kept = params
      .slice(1)
      .split(";")
      .filter((mode) => !DROPPED_MODES.has(mode));
    return kept.length === 0 ? "" : `\u001b[?${kept.join(";")}${final}`;
  }
  return whole;
}

/** Rewrites SGR parameters: 24-bit colours to 256, and (on stderr) foreground resets back to the stderr colour. */
function rewriteSgr(params: string, stderr: boolean): string {
  const list = params === "" ? ["0"] : params.split(";");
  const out: string[] = [];
  let resetsForeground = false;
  for (let i = 0; i < list.length; i++) {
    const param = list[i] as string;
    if (param.includes(":")) {
      // ITU form: `38:2::r:g:b` or `38:2:r:g:b`, `38:5:n`.
      const sub = param.split(":");
      if ((sub[0] === "38" || sub[0] === "48" || sub[0] === "58") && sub[1] === "2") {
        const rgb = sub.slice(sub.length >= 6 ? 3 : 2, (sub.length >= 6 ? 3 : 2) + 3).map(Number);
        out.push(`${sub[0]}:5:${nearest256(rgb)}`);
      } else out.push(param);
      continue;
    }
    if (param === "38" || param === "48" || param === "58") {
      const mode = list[i + 1];
      if (mode === "2") {
        const rgb = list.slice(i + 2, i + 5).map(Number);
        out.push(param, "5", String(nearest256(rgb)));
        i += 4;
      } else if (mode === "5") {
        out.push(param, "5", list[i + 2] ?? "0");
        i += 2;
      } else out.push(param);
      continue;
    }
    if (param === "0" || param === "" || param === "39") resetsForeground = true;
    else if (/^(3[0-7]|9[0-7])$/.test(param)) resetsForeground = false;
    out.push(param);
  }
  if (stderr && resetsForeground) out.push("38", "5", String(STDERR_COLOR));
  return out.join(";");
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** The xterm-256 colour (cube 16–231 or grey 232–255) nearest to an `[r, g, b]`. */
export function nearest256(rgb: number[]): number {
  const [r, g, b] = [0, 1, 2].map((i) => clamp(rgb[i] ?? 0)) as [number, number, number];
  const level = (v: number) => (v < 48 ? 0 : v < 115 ? 1 : Math.floor((v - 35) / 40));
  const [cr, cg, cb] = [level(r), level(g), level(b)];
  const cube = 16 + 36 * cr + 6 * cg + cb;
  const cubeDistance = distance([r, g, b], [CUBE[cr] as number, CUBE[cg] as number, CUBE[cb] as number]);
  const greyStep = Math.min(23, Math.max(0, Math.round(((r + g + b) / 3 - 8) / 10)));
  const grey = 8 + 10 * greyStep;
  return distance([r, g, b], [grey, grey, grey]) < cubeDistance ? 232 + greyStep : cube;
}

function clamp(v: number): number {
  return Number.isFinite(v) ? Math.min(255, Math.max(0, v)) : 0;
}

function distance(a: number[], b: number[]): number {
  return a.reduce((sum, v, i) => sum + (v - (b[i] as number)) ** 2, 0);
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}
