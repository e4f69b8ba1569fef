/**
 * Strips ANSI escape sequences and stray control characters from command output, so a
 * coloured `ls` or a progress bar reads cleanly as plain text.
 *
 * Output arrives in chunks, and an escape sequence may be split across two of them; an
 * {@link AnsiStripper} keeps an unfinished sequence back until the next chunk completes it.
 */

// CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ESC \`), and two-byte `ESC x` sequences; also the
// 8-bit CSI introducer (U+009B). C0 controls except tab and newline go too: `\r` included,
// since rendering carriage-return overwrites is not worth it for a log view.
const SEQUENCE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[ -/]*[0-~]|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** An escape sequence that has started but not ended at the end of the text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const UNFINISHED = /(?:\u001b(?:\[[0-?]*[ -/]*|\][^\u0007\u001b]*\u001b?|[ -/]*)?|\u009b[0-?]*[ -/]*)$/;

/** Longest unfinished sequence kept back; anything longer is garbage and is dropped. */
export const MAX_CARRY = 256;

/** Removes every complete ANSI sequence and control character (except `\t`, `\n`). */
export function stripAnsi(text: string): string {
  return text.replace(SEQUENCE, "");
}

/** Stateful stripper for one stream of chunks. */
export class AnsiStripper {
  private carry = "";

  /** Returns the printable text of `chunk`, holding back a trailing unfinished sequence. */
  push(chunk: string): string {
    let text = this.carry + chunk;
    this.carry = "";
    const tail = UNFINISHED.exec(text);
    if (tail && tail[0].length > 0) {
      text = text.slice(0, tail.index);
      if (tail[0].length <= MAX_CARRY) this.carry = tail[0];
    }
    return stripAnsi(text);
  }
}

/**
 * What a terminal would finally show of `text`, as plain text: escape sequences removed and
 * each `\r` redraw resolved the way a terminal does it (`"50%\r100%"` → `"100%"`,
 * `"abcdef\rxy"` → `"xycdef"`), so a downloaded apt or curl log has one line per line, not
 * every step of its progress bar. Backspace moves one column left; other controls go.
 */
export function plainText(text: string): string {
  const lines = stripEscapesKeepingRedraws(text).split("\n");
  return lines.map(resolveRedraws).join("\n");
}

// SEQUENCE without `\r` and `\b` among the controls it removes.
const SEQUENCE_KEEP_REDRAW =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[ -/]*[0-~]|[\u0000-\u0007\u000b\u000c\u000e-\u001f\u007f]/g;

function stripEscapesKeepingRedraws(text: string): string {
  return text.replace(SEQUENCE_KEEP_REDRAW, "");
}

function resolveRedraws(line: string): string {
  if (!line.includes("\r") && !line.includes("\b")) return line;
  const cells: string[] = [];
  let column = 0;
  for (const char of line) {
    if (char === "\r") column = 0;
    else if (char === "\b") column = Math.max(0, column - 1);
    else cells[column++] = char;
  }
  return Array.from(cells, (c) => c ?? " ").join("");
}
