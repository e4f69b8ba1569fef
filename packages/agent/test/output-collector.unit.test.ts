import fc from "fast-check";
import type { OutputStream } from "@tether/protocol";
import { createOutputCollector, splitForFrames } from "../src/output-collector";
import { FakeClock } from "./support/fake-clock";

const frameBytes = (data: string, stream: OutputStream = "stdout") =>
  Buffer.byteLength(JSON.stringify({ type: "output", payload: { command_id: "c1", seq: Number.MAX_SAFE_INTEGER, stream, data } }));

describe("splitForFrames", () => {
  test("every piece's frame fits, whatever the text; the pieces join back to it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 3000 }), fc.integer({ min: 300, max: 2000 }), (text, max) => {
        const pieces = splitForFrames("c1", "stdout", text, max);
        expect(pieces.join("")).toBe(text);
        for (const p of pieces) expect(frameBytes(p)).toBeLessThanOrEqual(max);
      }),
    );
  });

  test("never splits a surrogate pair", () => {
    const text = "😀".repeat(5000);
    for (const piece of splitForFrames("c1", "stdout", text, 4096)) {
      expect(piece.length % 2).toBe(0);
      expect(piece.codePointAt(0)).toBe(0x1f600);
    }
  });

  test("pieces are even, not one full and one crumb", () => {
    const sizes = splitForFrames("c1", "stdout", "x".repeat(70_000), 65_536).map((p) => p.length);
    expect(sizes).toEqual([35_000, 35_000]);
  });
});

describe("createOutputCollector", () => {
  const setup = (flushChars?: number) => {
    const clock = new FakeClock();
    const out: [OutputStream, string][] = [];
    const collector = createOutputCollector({
      commandId: "c1",
      maxMessageBytes: 65_536,
      clock,
      emit: (s, d) => out.push([s, d]),
      flushChars,
    });
    return { clock, out, collector };
  };

  test("coalesces small writes until 10 ms pass", () => {
    const { clock, out, collector } = setup();
    collector.write("stdout", Buffer.from("a"));
    collector.write("stdout", Buffer.from("b"));
    clock.advance(9);
    expect(out).toEqual([]);
    clock.advance(1);
    expect(out).toEqual([["stdout", "ab"]]);
  });

  test("flushes at once past the size threshold", () => {
    const { out, collector } = setup(4);
    collector.write("stdout", Buffer.from("abcd"));
    expect(out).toEqual([["stdout", "abcd"]]);
  });

  test("a switch of stream flushes first, so interleaving is kept", () => {
    const { out, collector } = setup();
    collector.write("stdout", Buffer.from("1"));
    collector.write("stderr", Buffer.from("2"));
    collector.write("stdout", Buffer.from("3"));
    collector.end();
    expect(out).toEqual([
      ["stdout", "1"],
      ["stderr", "2"],
      ["stdout", "3"],
    ]);
  });

  test("a character split across writes survives; per stream; invalid bytes become U+FFFD", () => {
    const { out, collector } = setup();
    const euro = Buffer.from("€"); // e2 82 ac
    collector.write("stdout", euro.subarray(0, 1));
    collector.write("stderr", Buffer.from([0xff]));
    collector.write("stdout", euro.subarray(1));
    collector.write("stdout", Buffer.from([0xe2, 0x82])); // cut short by the end
    collector.end();
    expect(out).toEqual([
      ["stderr", "\uFFFD"],
      ["stdout", "€\uFFFD"],
    ]);
  });

  test("end() flushes the pending text and leaves no timer behind", () => {
    const { clock, out, collector } = setup();
    collector.write("stdout", Buffer.from("tail"));
    collector.end();
    expect(out).toEqual([["stdout", "tail"]]);
    expect(clock.pending).toBe(0);
  });
});
