import type { IBuffer, IBufferCell } from "@xterm/xterm";

/** A cell of the terminal buffer as tests read it. */
export interface CellInfo {
  /** Buffer line (0 = the oldest kept) and column. */
  line: number;
  column: number;
  chars: string;
  /** `default`, `palette` (0–255, `fg` is the index) or `rgb` (`fg` is 0xRRGGBB). */
  fgMode: "default" | "palette" | "rgb";
  fg: number;
  bold: boolean;
}

/**
 * The buffer as text: each row trimmed on the right, rows the terminal wrapped joined back into
 * one line, up to the cursor's row (so output ending in a newline ends in "\n", as the host wrote it).
 */
export function bufferText(buffer: IBuffer): string {
  const last = buffer.baseY + buffer.cursorY;
  let text = "";
  for (let y = 0; y <= last; y++) {
    const line = buffer.getLine(y);
    if (!line) break;
    if (y > 0 && !line.isWrapped) text += "\n";
    text += line.translateToString(true);
  }
  return text;
}

/** The first cell where `needle` starts (within one row), or undefined. */
export function findCell(buffer: IBuffer, needle: string): CellInfo | undefined {
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    const at = line?.translateToString(true).indexOf(needle) ?? -1;
    if (!line || at === -1) continue;
    // translateToString counts wide characters once; for the ASCII needles tests use, index = column.
    const cell = line.getCell(at) as IBufferCell;
    return {
      line: y,
      column: at,
      chars: cell.getChars(),
      fgMode: cell.isFgDefault() ? "default" : cell.isFgPalette() ? "palette" : "rgb",
      fg: cell.getFgColor(),
      bold: cell.isBold() !== 0,
    };
  }
  return undefined;
}
