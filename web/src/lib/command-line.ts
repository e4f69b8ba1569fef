/**
 * Splits what a user typed into the console into `{command, args}` the way a POSIX shell
 * splits words: whitespace separates, '…' is literal, "…" allows \" and \\, and a backslash
 * outside quotes escapes the next character. Nothing else (no globs, variables or pipes):
 * the contract carries a program and its arguments, not a shell script.
 */
export type ParsedCommandLine = { ok: true; command: string; args: string[] } | { ok: false; error: string };

export function splitCommandLine(input: string): ParsedCommandLine {
  const words: string[] = [];
  let word = "";
  let inWord = false; // distinguishes an empty quoted word ('') from no word at all
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const ch = input.charAt(i);
    const next = input.charAt(i + 1);
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === "\\" && (next === '"' || next === "\\")) {
        word += next;
        i++;
      } else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      inWord = true;
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "\\" && i + 1 < input.length) {
        word += next;
        i++;
      } else word += ch;
    }
  }
  if (quote) return { ok: false, error: `Unterminated ${quote === "'" ? "single" : "double"} quote` };
  if (inWord) words.push(word);
  const [command, ...args] = words;
  if (!command) return { ok: false, error: "Type a command to run" };
  return { ok: true, command, args };
}
