import { AnsiStripper, plainText, stripAnsi } from "../src/lib/ansi";

describe("stripAnsi", () => {
  it("removes SGR colour codes", () => {
    expect(stripAnsi("\u001b[1;31merror\u001b[0m: disk \u001b[38;5;208mfull\u001b[m")).toBe("error: disk full");
  });

  it("removes cursor movement, OSC titles and 8-bit CSI", () => {
    expect(stripAnsi("\u001b[2K\u001b[1Gdone\u001b]0;title\u0007!\u001b]8;;http://x\u001b\\link\u009b0m")).toBe("done!link");
  });

  it("drops carriage returns and control characters but keeps tabs and newlines", () => {
    expect(stripAnsi("a\tb\r\nc\u0007\u0008d\n")).toBe("a\tb\ncd\n");
  });

  it("leaves plain text, including non-ASCII, untouched", () => {
    expect(stripAnsi("héllo → wörld [1m] ✓")).toBe("héllo → wörld [1m] ✓");
  });
});

describe("AnsiStripper", () => {
  it("reassembles an escape sequence split across chunks", () => {
    const stripper = new AnsiStripper();
    expect(stripper.push("red: \u001b[3")).toBe("red: ");
    expect(stripper.push("1mfire\u001b")).toBe("fire");
    expect(stripper.push("[0m done")).toBe(" done");
  });

  it("handles a split OSC sequence", () => {
    const stripper = new AnsiStripper();
    expect(stripper.push("x\u001b]0;ti")).toBe("x");
    expect(stripper.push("tle\u001b")).toBe("");
    expect(stripper.push("\\y")).toBe("y");
  });

  it("gives the same text whatever the chunk boundaries", () => {
    const text = "\u001b[32mok\u001b[0m line 1\n\u001b]0;t\u0007\u001b[1;33mwarn\u001b[0m line 2\n";
    for (let cut = 0; cut <= text.length; cut++) {
      const stripper = new AnsiStripper();
      expect(stripper.push(text.slice(0, cut)) + stripper.push(text.slice(cut))).toBe("ok line 1\nwarn line 2\n");
    }
  });

  it("does not hold back an endless bogus sequence", () => {
    const stripper = new AnsiStripper();
    stripper.push("\u001b]" + "x".repeat(1000));
    expect(stripper.push("after")).toBe("after");
  });
});

describe("plainText", () => {
  it("resolves \\r redraws as a terminal shows them and removes escapes", () => {
    expect(plainText(`\u001b[32mok\u001b[0m\n10%\r50%\r100%\nabcdef\rxy\n`)).toBe("ok\n100%\nxycdef\n");
  });

  it("keeps CRLF line ends as one line end, and applies backspaces", () => {
    expect(plainText("one\r\ntwo\r\nab\bc\n")).toBe("one\ntwo\nac\n");
  });
});
