import fc from "fast-check";
import type { OutputStream } from "@tether/protocol";
import { OutputBuffer } from "../src/lib/output-buffer";
import type { FlushPlan } from "../src/lib/output-buffer";

/** Applies flush plans to an array the way the view applies them to `<span>`s. */
class FakeDom {
  spans: { stream: OutputStream; text: string }[] = [];
  apply(plan: FlushPlan): void {
    this.spans.splice(0, plan.remove);
    const last = this.spans.at(-1);
    if (plan.extend) {
      if (!last) throw new Error("extend without a span");
      last.text += plan.extend;
    }
    for (const segment of plan.add) this.spans.push({ stream: segment.stream, text: segment.text });
  }
  get text(): string {
    return this.spans.map((s) => s.text).join("");
  }
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join("");

describe("OutputBuffer", () => {
  it("batches pushes and tells streams apart", () => {
    const buffer = new OutputBuffer();
    const dom = new FakeDom();
    buffer.push("stdout", "a\n");
    buffer.push("stdout", "b\n");
    buffer.push("stderr", "\u001b[31moops\u001b[0m\n");
    dom.apply(buffer.flush());
    expect(dom.spans).toEqual([
      { stream: "stdout", text: "a\nb\n" },
      { stream: "stderr", text: "oops\n" },
    ]);
    expect(buffer.dirty).toBe(false);
  });

  it("grows the last span across flushes instead of adding spans", () => {
    const buffer = new OutputBuffer();
    const dom = new FakeDom();
    for (let i = 0; i < 50; i++) {
      buffer.push("stdout", `tick ${i}\n`);
      dom.apply(buffer.flush());
    }
    expect(dom.spans).toHaveLength(1);
    expect(buffer.lineCount).toBe(50);
  });

  it("keeps only the last maxLines lines of 100k, with a bounded number of spans", () => {
    const buffer = new OutputBuffer(50_000);
    const dom = new FakeDom();
    for (let i = 0; i < 100_000; i += 100) {
      buffer.push("stdout", lines(i, i + 100));
      if (i % 5000 === 0) dom.apply(buffer.flush());
    }
    dom.apply(buffer.flush());
    expect(buffer.lineCount).toBeLessThanOrEqual(50_000);
    expect(buffer.lineCount).toBeGreaterThan(49_000); // trimmed by whole 1000-line spans
    expect(buffer.lineCount + buffer.hiddenLines).toBe(100_000);
    expect(dom.text).toBe(lines(100_000 - buffer.lineCount, 100_000));
    expect(dom.spans.length).toBeLessThanOrEqual(51);
  });

  it("cuts one huge chunk down to the limit", () => {
    const buffer = new OutputBuffer(10);
    const dom = new FakeDom();
    buffer.push("stdout", lines(0, 25));
    dom.apply(buffer.flush());
    expect(dom.text).toBe(lines(15, 25));
    expect(buffer.hiddenLines).toBe(15);
  });

  it("always shows exactly the newest lines, whatever the chunks and flushes", () => {
    const event = fc.oneof(
      fc.record({ stream: fc.constantFrom<OutputStream>("stdout", "stderr"), count: fc.integer({ min: 0, max: 40 }) }),
      fc.constant("flush" as const),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(event, { maxLength: 40 }), (max, events) => {
        const buffer = new OutputBuffer(max);
        const dom = new FakeDom();
        const all: string[] = [];
        for (const e of events) {
          if (e === "flush") {
            dom.apply(buffer.flush());
            continue;
          }
          const pushed = Array.from({ length: e.count }, () => `${e.stream} ${all.length}\n`).map((line) => {
            all.push(line);
            return line;
          });
          buffer.push(e.stream, pushed.join(""));
        }
        dom.apply(buffer.flush());
        const kept = Math.min(all.length, max);
        // Trimming drops whole spans first, so it may show fewer lines than the limit, never more,
        // and what it shows is always the newest lines, complete and in order.
        expect(buffer.lineCount).toBeLessThanOrEqual(kept);
        expect(dom.text).toBe(all.slice(all.length - buffer.lineCount).join(""));
        expect(buffer.lineCount + buffer.hiddenLines).toBe(all.length);
      }),
    );
  });
});
