import type { Clock } from "@tether/core";
import { FrameRateLimit } from "../src/connections/rate-limit";

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    advance: (ms) => void (now += ms),
    setTimeout: () => undefined as never,
    clearTimeout: () => undefined,
    setInterval: () => undefined as never,
    clearInterval: () => undefined,
  };
}

test("a burst passes, the next frame does not, and tokens come back at the sustained rate", () => {
  const clock = fakeClock();
  const limit = new FrameRateLimit(10, 5, clock);
  for (let i = 0; i < 5; i++) expect(limit.take()).toBe(true);
  expect(limit.take()).toBe(false);
  clock.advance(100); // one token at 10/s
  expect(limit.take()).toBe(true);
  expect(limit.take()).toBe(false);
  clock.advance(10_000); // refills to the burst, no further
  for (let i = 0; i < 5; i++) expect(limit.take()).toBe(true);
  expect(limit.take()).toBe(false);
});
