/** Assertions on command output as a browser (or REST) received it, for the agent e2e tests. */
import type { Chunk } from "@tether/protocol";
import type { BrowserSocket } from "../support/clients";

/** The `command_output` payloads a browser received for one command, in arrival order. */
export function outputAt(browser: BrowserSocket, commandId: string): Chunk[] {
  return browser.frames
    .filter((f) => f.type === "command_output" && f.payload.command_id === commandId)
    .map((f) => ({ seq: f.payload.seq, stream: f.payload.stream, data: f.payload.data }));
}

/** The data of one stream, concatenated. */
export const textOf = (chunks: Chunk[], stream: "stdout" | "stderr" = "stdout") =>
  chunks
    .filter((c) => c.stream === stream)
    .map((c) => c.data)
    .join("");
/** 0, 1, …, n-1. */
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Equal strings, or a short message at the first difference (never a 10 MB diff). */
export function expectSameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < Math.min(actual.length, expected.length) && actual[i] === expected[i]) i++;
  throw new Error(
    `${what}: ${actual.length} chars, expected ${expected.length}; first difference at ${i}: ` +
      `got ${JSON.stringify(actual.slice(i, i + 40))}, expected ${JSON.stringify(expected.slice(i, i + 40))}`,
  );
}

/** `s` as a literal in a RegExp. */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
