import { backoffDelay, goingAwayDelay } from "../src/lib/backoff";

describe("backoffDelay (full jitter)", () => {
  it("draws uniformly below a ceiling that doubles up to the cap", () => {
    const ceilings = [0, 1, 2, 3, 6, 10, 50].map((attempt) => backoffDelay(attempt, () => 0.999999) + 1);
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
    expect(backoffDelay(4, () => 0)).toBe(0);
    expect(backoffDelay(2, () => 0.5, { baseMs: 100, capMs: 300 })).toBe(150);
  });

  it("spreads an immediate reconnect over a second", () => {
    expect(goingAwayDelay(() => 0.5)).toBe(500);
    expect(goingAwayDelay(() => 0.999)).toBeLessThan(1000);
  });
});
