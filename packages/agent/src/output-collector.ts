import type { OutputStream } from "@tether/protocol";
import type { Clock } from "./clock";

/** Turns a command's raw stdout/stderr bytes into few, bounded pieces of valid text. */
export interface OutputCollector {
  write(stream: OutputStream, chunk: Buffer): void;
  /** Flushes the decoders (a dangling partial character becomes U+FFFD) and pending text. */
  end(): void;
}

export interface OutputCollectorOptions {
  commandId: string;
  /** No `output` frame, JSON-encoded with any seq, may exceed this many bytes. */
  maxMessageBytes: number;
  clock: Clock;
  /** Receives each piece, in order; every piece fits one frame. */
  emit: (stream: OutputStream, data: string) => void;
  /** Flush once this many characters are pending. Default 16 KiB. */
  flushChars?: number;
  /** …or this long after the first pending character. Default 10 ms. */
  flushMs?: number;
}

/**
 * Coalesces output so a chatty command sends tens of frames per MB, not one per line. Each
 * stream has its own streaming UTF-8 decoder, so a multi-byte character split across two pipe
 * reads survives, and invalid bytes show up as U+FFFD instead of vanishing.
 */
export function createOutputCollector(options: OutputCollectorOptions): OutputCollector {
  const { clock, emit, flushChars = 16 * 1024, flushMs = 10 } = options;
  // ignoreBOM: keep a leading BOM as output; the default would silently strip it.
  const decoders = { stdout: new TextDecoder("utf-8", { ignoreBOM: true }), stderr: new TextDecoder("utf-8", { ignoreBOM: true }) };
  let pending: { stream: OutputStream; parts: string[]; chars: number } | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    clock.clearTimeout(timer);
    timer = undefined;
    if (!pending) return;
    const { stream, parts } = pending;
    pending = undefined;
    for (const piece of splitForFrames(options.commandId, stream, parts.join(""), options.maxMessageBytes)) emit(stream, piece);
  };
  const add = (stream: OutputStream, text: string) => {
    if (text === "") return;
    // One pending buffer, not one per stream: flushing on a switch keeps stdout/stderr interleaving.
    if (pending && pending.stream !== stream) flush();
    pending ??= { stream, parts: [], chars: 0 };
    pending.parts.push(text);
    pending.chars += text.length;
    if (pending.chars >= flushChars) flush();
    else timer ??= clock.setTimeout(flush, flushMs);
  };
  return {
    write: (stream, chunk) => add(stream, decoders[stream].decode(chunk, { stream: true })),
    end() {
      add("stdout", decoders.stdout.decode());
      add("stderr", decoders.stderr.decode());
      flush();
    },
  };
}

/**
 * Bytes left for JSON.stringify(data), its two quotes included, in an `output` frame of this
 * command that must fit `maxMessageBytes` whatever its seq.
 */
export function frameDataBudget(commandId: string, stream: OutputStream, maxMessageBytes: number): number {
  const envelope = { type: "output", payload: { command_id: commandId, seq: Number.MAX_SAFE_INTEGER, stream, data: "" } };
  return maxMessageBytes - Buffer.byteLength(JSON.stringify(envelope)) + 2;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Cuts `text` into pieces whose `output` frame (with the longest possible seq) fits in
 * `maxMessageBytes` once JSON-encoded, measured rather than guessed: escaping can grow a
 * control character to six bytes. Pieces are of even size and never split a surrogate pair.
 */
export function splitForFrames(commandId: string, stream: OutputStream, text: string, maxMessageBytes: number): string[] {
  const budget = frameDataBudget(commandId, stream, maxMessageBytes);
  if (budget < 64) throw new Error(`maxMessageBytes ${maxMessageBytes} leaves no room for output`);
  const total = Buffer.byteLength(JSON.stringify(text));
  if (total <= budget) return text === "" ? [] : [text];
  const target = Math.ceil(text.length / Math.ceil(total / budget));
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let n = Math.min(target, text.length - start);
    for (;;) {
      if (start + n < text.length && n > 1 && isHighSurrogate(text.charCodeAt(start + n - 1))) n -= 1;
      const size = Buffer.byteLength(JSON.stringify(text.slice(start, start + n)));
      if (size <= budget) break;
      n = Math.max(1, Math.floor((n * budget) / size) - 1);
    }
    pieces.push(text.slice(start, start + n));
    start += n;
  }
  return pieces;
}
