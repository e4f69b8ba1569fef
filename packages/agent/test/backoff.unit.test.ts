import { createBackoff } from "../src/backoff";

describe("createBackoff", () => {
  test("full jitter: a uniform draw below a ceiling that doubles from 500 ms up to 30 s", () => {
    const backoff = createBackoff({ random: () => 0.999999 });
    const delays = Array.from({ length: 10 }, () => backoff.next());
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
  });

  test("the draw spans the whole window, down to 0", () => {
    expect(createBackoff({ random: () => 0 }).next()).toBe(0);
    const half = createBackoff({ random: () => 0.5 });
    half.next();
    expect(half.next()).toBe(500);
  });

  test("reset starts over; days of attempts never overflow", () => {
    const backoff = createBackoff({ random: () => 0.999999 });
    for (let i = 0; i < 10_000; i++) backoff.next();
    expect(backoff.next()).toBe(29999);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(499);
  });
});
