import { STDERR_COLOR, TerminalStream } from "../src/lib/terminal-stream";

const ESC = "\u001b";
const ON = `${ESC}[38;5;${STDERR_COLOR}m`;
const OFF = `${ESC}[39m`;

describe("TerminalStream", () => {
  it("passes stdout through as is, colours and \\r included", () => {
    const stream = new TerminalStream();
    const text = `${ESC}[1;32mok${ESC}[0m\r50%\r100%\n${ESC}[2K${ESC}[1G`;
    expect(stream.push("stdout", text)).toBe(text);
  });

  it("wraps stderr in its colour and ends it with a foreground reset only", () => {
    expect(new TerminalStream().push("stderr", "boom\n")).toBe(`${ON}boom\n${OFF}`);
  });

  it("keeps stderr's colour after the host's own resets, and the host's own colours", () => {
    const stream = new TerminalStream();
    expect(stream.push("stderr", `${ESC}[1;31mred${ESC}[0m rest ${ESC}[m x ${ESC}[39m y ${ESC}[33m z`)).toBe(
      `${ON}${ESC}[1;31mred${ESC}[0;38;5;${STDERR_COLOR}m rest ${ESC}[0;38;5;${STDERR_COLOR}m x ${ESC}[39;38;5;${STDERR_COLOR}m y ${ESC}[33m z${OFF}`,
    );
  });

  it("does not take the values of 256 and 24-bit colours for resets", () => {
    const stream = new TerminalStream();
    expect(stream.push("stderr", `${ESC}[38;5;0ma${ESC}[48;2;0;0;0mb${ESC}[0;38;5;2mc`)).toBe(
      `${ON}${ESC}[38;5;0ma${ESC}[48;2;0;0;0mb${ESC}[0;38;5;2mc${OFF}`,
    );
  });

  it("holds an escape sequence cut at a chunk's end back until its stream completes it", () => {
    const stream = new TerminalStream();
    expect(stream.push("stdout", `a${ESC}[3`)).toBe("a");
    // stderr in between has its own state; it must not close stdout's half-sequence.
    expect(stream.push("stderr", `e${ESC}`)).toBe(`${ON}e${OFF}`);
    expect(stream.push("stdout", "4mblue")).toBe(`${ESC}[34mblue`);
    expect(stream.push("stderr", "[0mf")).toBe(`${ON}${ESC}[0;38;5;${STDERR_COLOR}mf${OFF}`);
  });

  it("holds a cut OSC sequence back too, and drops an absurdly long one", () => {
    const stream = new TerminalStream();
    expect(stream.push("stdout", `${ESC}]0;tit`)).toBe("");
    expect(stream.push("stdout", `le\u0007x`)).toBe(`${ESC}]0;title\u0007x`);
    expect(stream.push("stdout", `${ESC}]0;${"x".repeat(300)}`)).toBe("");
    expect(stream.push("stdout", "y")).toBe("y");
  });

  it("drops mouse-tracking modes and keeps the other private modes", () => {
    const stream = new TerminalStream();
    expect(stream.push("stdout", `${ESC}[?1000h${ESC}[?1002;25h${ESC}[?1006l${ESC}[?25l`)).toBe(`${ESC}[?25h${ESC}[?25l`);
  });

  it("counts the newlines received", () => {
    const stream = new TerminalStream();
    stream.push("stdout", "a\nb\n");
    stream.push("stderr", "c\r\n");
    stream.push("stdout", `${ESC}[3`);
    expect(stream.lines).toBe(3);
  });
});
