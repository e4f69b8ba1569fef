import { Writable } from "node:stream";
import pino from "pino";
import type { Clock } from "@tether/core";
import { WARN_INTERVAL_MS, WarnLimit } from "../src/connections/warn-limit";

/** A real pino logger writing JSON lines into an array, and a clock the test moves. */
function setup() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  let now = 1_000_000;
  const clock = { now: () => now } as Clock;
  const log = pino({ level: "info" }, sink);
  return { lines, log, clock, advance: (ms: number) => (now += ms) };
}

describe("WarnLimit: one warn line per socket per minute for repeated failures", () => {
  test("a flood of 20,000 failures in a minute writes one line; the next minute's line counts the rest", () => {
    const { lines, log, clock, advance } = setup();
    const warns = new WarnLimit(log, clock);
    for (let i = 0; i < 20_000; i++) {
      warns.warn({ err: "OOM" }, "host write failed");
      advance(2); // 20,000 × 2 ms = 40 s: all within the first minute
    }
    expect(lines).toHaveLength(1);
    advance(WARN_INTERVAL_MS);
    warns.warn({ err: "OOM" }, "host write failed");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 40, msg: "host write failed", suppressed: 19_999 });
  });

  test("each socket has its own budget", () => {
    const { lines, log, clock } = setup();
    const a = new WarnLimit(log, clock);
    const b = new WarnLimit(log, clock);
    for (let i = 0; i < 100; i++) {
      a.warn({}, "x");
      b.warn({}, "y");
    }
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["x", "y"]);
  });
});
