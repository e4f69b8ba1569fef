import type { OutputStream } from "@tether/protocol";

/** One complete line of a run's combined output. */
export interface RunLine {
  hostId: string;
  /** The host's name when the line was completed (the prefix). */
  host: string;
  stream: OutputStream;
  text: string;
}

/** What changed since the last {@link RunLines.flush}: drop `remove` lines from the top, append `add`. */
export interface RunLinesFlush {
  remove: number;
  add: RunLine[];
}

/** Default bound of the combined output: lines kept. */
export const RUN_MAX_LINES = 5_000;
/** Default bound of one line (characters); the rest of a longer line is cut with "…". */
export const RUN_MAX_LINE_CHARS = 1_000;

/**
 * The combined output of a run: every host's output cut into lines, in the order the lines
 * completed, each tagged with its host. Bounded: at most `maxLines` lines of at most
 * `maxLineChars` characters are kept (older lines are dropped and counted), plus one unfinished
 * line per command and stream. So a run over thousands of chatty hosts keeps the page's memory
 * at a few MB; each host's full output stays one click away (its own console, loaded over REST).
 *
 * The element showing it applies {@link flush} plans, so a new line costs one DOM append.
 */
export class RunLines {
  /** Lines dropped from the top so far. */
  dropped = 0;
  /** Bumped on every change (an element property, so Lit re-renders). */
  version = 0;
  private buf: RunLine[] = [];
  /** Absolute index of `buf[0]`. */
  private base = 0;
  /** Absolute index of the first line kept. */
  private start = 0;
  /** The absolute range [domStart, domEnd) the last flush left on screen. */
  private domStart = 0;
  private domEnd = 0;
  private readonly partial = new Map<string, RunLine>();

  constructor(
    readonly maxLines = RUN_MAX_LINES,
    readonly maxLineChars = RUN_MAX_LINE_CHARS,
  ) {}

  /** Number of lines kept. */
  get size(): number {
    return this.base + this.buf.length - this.start;
  }

  /** The lines kept, oldest first. */
  lines(): RunLine[] {
    return this.buf.slice(this.start - this.base);
  }

  /** Adds one chunk of a command's output (chunks of one command must come in `seq` order). */
  push(commandId: string, hostId: string, host: string, stream: OutputStream, data: string): void {
    const key = `${commandId}\u0000${stream}`;
    const parts = data.split("\n");
    const last = parts.pop() ?? "";
    let line = this.partial.get(key);
    for (const part of parts) {
      this.emit(line ? this.extend(line, part) : this.cut({ hostId, host, stream, text: part }));
      line = undefined;
    }
    if (last !== "") {
      this.partial.set(key, line ? this.extend(line, last) : this.cut({ hostId, host, stream, text: last }));
    } else if (parts.length > 0) {
      this.partial.delete(key);
    }
    this.version++;
  }

  /** A command ended: its unfinished lines (output without a final newline) are lines now. */
  end(commandId: string): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${commandId}\u0000${stream}`;
      const line = this.partial.get(key);
      if (!line) continue;
      this.partial.delete(key);
      this.emit(line);
      this.version++;
    }
  }

  /** What to change on screen since the last flush. */
  flush(): RunLinesFlush {
    const end = this.base + this.buf.length;
    const remove = Math.max(0, Math.min(this.start, this.domEnd) - this.domStart);
    const from = Math.max(this.domEnd, this.start);
    const add = this.buf.slice(from - this.base, end - this.base);
    this.domStart = this.start;
    this.domEnd = end;
    this.compact();
    return { remove, add };
  }

  /** Forgets what is on screen: the next flush adds every line kept (the element re-rendered). */
  redraw(): void {
    this.domStart = this.domEnd = this.start;
  }

  private emit(line: RunLine): void {
    this.buf.push(line);
    const end = this.base + this.buf.length;
    if (end - this.start > this.maxLines) {
      this.start++;
      this.dropped++;
    }
    this.compact();
  }

  /** Drops lines no longer kept (the screen only needs their count, which the indices give). */
  private compact(): void {
    if (this.start - this.base < Math.min(1024, this.maxLines)) return;
    this.buf = this.buf.slice(this.start - this.base);
    this.base = this.start;
  }

  private extend(line: RunLine, more: string): RunLine {
    if (line.text.length >= this.maxLineChars) return line;
    return this.cut({ ...line, text: line.text + more });
  }

  private cut(line: RunLine): RunLine {
    if (line.text.length <= this.maxLineChars) return line;
    return { ...line, text: `${line.text.slice(0, this.maxLineChars)}…` };
  }
}
