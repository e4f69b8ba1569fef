import { splitCommandLine } from "../src/lib/command-line";
import { formatCommandLine } from "../src/lib/format";
import fc from "fast-check";

describe("splitCommandLine", () => {
  it.each<[string, string, string[]]>([
    ["uptime", "uptime", []],
    ["  ls   -la  /var/log ", "ls", ["-la", "/var/log"]],
    [`echo 'hello world' "a \\"b\\"" c\\ d`, "echo", ["hello world", 'a "b"', "c d"]],
    [`printf '' x`, "printf", ["", "x"]],
    [`echo '$HOME' "a\\nb"`, "echo", ["$HOME", "a\\nb"]],
    [`echo ab'cd'"ef"`, "echo", ["abcdef"]],
  ])("%s", (input, command, args) => {
    expect(splitCommandLine(input)).toEqual({ ok: true, command, args });
  });

  it("rejects an empty line and unterminated quotes", () => {
    expect(splitCommandLine("   ")).toEqual({ ok: false, error: "Type a command to run" });
    expect(splitCommandLine(`echo 'oops`)).toEqual({ ok: false, error: "Unterminated single quote" });
    expect(splitCommandLine(`echo "oops`)).toEqual({ ok: false, error: "Unterminated double quote" });
  });

  it("reads back what formatCommandLine writes", () => {
    const word = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(
        word.filter((w) => w !== ""),
        fc.array(word, { maxLength: 5 }),
        (command, args) => {
          expect(splitCommandLine(formatCommandLine(command, args))).toEqual({ ok: true, command, args });
        },
      ),
    );
  });
});
