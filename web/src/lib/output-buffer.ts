import type { OutputStream } from "@tether/protocol";
import { AnsiStripper } from "./ansi";

/** A run of text from one stream: one `<span>` in the output view. */
export interface Segment {
  stream: OutputStream;
  text: string;
  /** Newlines in `text`. */
  lines: number;
}

/** What the view must do to the DOM on one flush, in this order. */
export interface FlushPlan {
  /** 1. Remove this many spans from the start of the rendered output. */
  remove: number;
  /** 2. Append this text to the last remaining span (same stream), if any. */
  extend: string;
  /** 3. Append these spans. */
  add: Segment[];
  /** Lines no longer shown, in total (for the "earlier lines hidden" note). */
  hiddenLines: number;
}

/** Most lines in one span: trimming drops whole spans, so this is its granularity. */
const SEGMENT_LINES = 1000;

interface Rendered {
  stream: OutputStream;
  lines: number;
}

/**
 * The DOM-free half of the output view. Text is pushed per chunk and flushed to the DOM at
 * most once per animation frame; the view keeps at most `maxLines` lines, so 100k lines of
 * output cost a bounded DOM and a few insertions per frame, not one per chunk. Trimming also
 * applies to text not yet flushed: a hidden tab gets no animation frames, and must not
 * buffer a whole long-running command's output in memory.
 */
export class OutputBuffer {
  private rendered: Rendered[] = [];
  private pending: Segment[] = [];
  private removeOnFlush = 0;
  private total = 0;
  private hidden = 0;
  private readonly strippers: Record<OutputStream, AnsiStripper> = {
    stdout: new AnsiStripper(),
    stderr: new AnsiStripper(),
  };

  /** @param maxLines lines kept on screen (default 50 000); older ones are dropped with a note. */
  constructor(readonly maxLines = 50_000) {}

  /** Appends raw chunk data (ANSI sequences are stripped here, per stream). */
  push(stream: OutputStream, data: string): void {
    let text = this.strippers[stream].push(data);
    while (text !== "") {
      let last = this.pending.at(-1);
      if (!last || last.stream !== stream || last.lines >= SEGMENT_LINES) {
        last = { stream, text: "", lines: 0 };
        this.pending.push(last);
      }
      // Split big chunks so that no span holds more than SEGMENT_LINES lines.
      const end = indexAfterNthNewline(text, SEGMENT_LINES - last.lines);
      const piece = end === 0 ? text : text.slice(0, end);
      const lines = countLines(piece);
      last.text += piece;
      last.lines += lines;
      this.total += lines;
      text = text.slice(piece.length);
    }
    this.enforceLimit();
  }

  /** True when there is something to flush. */
  get dirty(): boolean {
    return this.pending.length > 0 || this.removeOnFlush > 0;
  }

  /** Lines currently kept (rendered or waiting), excluding hidden ones. */
  get lineCount(): number {
    return this.total;
  }

  /** Lines dropped from the start so far. */
  get hiddenLines(): number {
    return this.hidden;
  }

  /** Hands the pending work to the view, which applies it to the DOM. */
  flush(): FlushPlan {
    const plan: FlushPlan = { remove: this.removeOnFlush, extend: "", add: this.pending, hiddenLines: this.hidden };
    const last = this.rendered.at(-1);
    const first = this.pending[0];
    // Growing the last span instead of adding one per frame keeps a slow trickle of output
    // (one line a second for hours) from turning into thousands of spans.
    if (last && first && last.stream === first.stream && last.lines + first.lines <= SEGMENT_LINES) {
      plan.extend = first.text;
      last.lines += first.lines;
      plan.add = this.pending.slice(1);
    }
    for (const segment of plan.add) this.rendered.push({ stream: segment.stream, lines: segment.lines });
    this.pending = [];
    this.removeOnFlush = 0;
    return plan;
  }

  private enforceLimit(): void {
    // Drop whole rendered spans first, oldest first; always keep the newest text.
    while (this.total > this.maxLines && this.rendered.length > 0) {
      const dropped = this.rendered.shift() as Rendered;
      this.removeOnFlush++;
      this.drop(dropped.lines);
    }
    while (this.total > this.maxLines && this.pending.length > 1) {
      this.drop((this.pending.shift() as Segment).lines);
    }
    const only = this.pending[0];
    if (this.total > this.maxLines && only) {
      // One segment longer than the limit: keep its last `maxLines` lines.
      const cut = this.total - this.maxLines;
      only.text = only.text.slice(indexAfterNthNewline(only.text, cut));
      only.lines -= cut;
      this.drop(cut);
    }
  }

  private drop(lines: number): void {
    this.total -= lines;
    this.hidden += lines;
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}

/** Index just past the `n`-th newline; 0 when there are fewer than `n` (or `n` is 0). */
function indexAfterNthNewline(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf("\n", at + 1);
    if (at === -1) return 0;
  }
  return at + 1;
}
