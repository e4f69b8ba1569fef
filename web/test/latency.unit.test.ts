import { LATENCY_WINDOW_MS, LatencyWindow, formatLatency } from "../src/lib/latency";

describe("LatencyWindow", () => {
  it("is empty before any event", () => {
    expect(new LatencyWindow().summary(1000)).toEqual({ count: 0 });
  });

  it("gives nearest-rank p50 and p99 of ts → received", () => {
    const window = new LatencyWindow();
    const now = 1_000_000;
    for (let i = 1; i <= 100; i++) window.add(now - i, now); // 1..100 ms
    expect(window.summary(now)).toEqual({ count: 100, p50: 50, p99: 99 });
  });

  it("forgets events older than the window, and counts a clock ahead of ours as 0", () => {
    const window = new LatencyWindow();
    window.add(0, 10); // 10 ms, at t=10
    window.add(20_000, 20_000 + 500); // 500 ms
    window.add(30_000, 29_990); // server clock ahead: 0
    expect(window.summary(30_000)).toMatchObject({ count: 3, p99: 500 });
    expect(window.summary(10 + LATENCY_WINDOW_MS + 1)).toEqual({ count: 2, p50: 0, p99: 500 });
    expect(window.summary(40_000 + LATENCY_WINDOW_MS)).toEqual({ count: 0 });
  });

  it("recomputes at most every 250 ms once it has figures, and keeps at most 20 000 samples", () => {
    const window = new LatencyWindow();
    window.add(0, 5);
    expect(window.summary(5)).toMatchObject({ count: 1, p50: 5 });
    window.add(100, 200); // 100 ms
    expect(window.summary(200)).toMatchObject({ count: 1 }); // within 250 ms: the cached figure
    expect(window.summary(300)).toMatchObject({ count: 2, p99: 100 });
    for (let i = 0; i < 25_000; i++) window.add(1000, 1001);
    expect(window.summary(2000).count).toBe(20_000);
  });
});

describe("formatLatency", () => {
  it("says ms below a second, seconds above", () => {
    expect([formatLatency(3.4), formatLatency(999), formatLatency(1234), formatLatency(12_345)]).toEqual([
      "3 ms",
      "999 ms",
      "1.2 s",
      "12 s",
    ]);
  });
});
