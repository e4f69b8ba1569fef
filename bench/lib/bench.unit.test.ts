/** The bench's own arithmetic: histogram quantiles, delivery checks, the output fast path. */
import { peekHeartbeat, peekOutput } from "../gen/receivers";
import { checkDelivery, deliveryOk, SeqState, totalsOf } from "./delivery";
import { Histogram } from "./hist";

describe("Histogram", () => {
  test("quantiles to the bucket (10 µs below 100 ms, 1 ms above), mergeable", () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 100; i++) (i % 2 ? a : b).record(i / 10); // 0.1 .. 10 ms
    const h = Histogram.from(a.toJSON(), b.toJSON());
    expect(h.count).toBe(100);
    expect(h.quantile(0.5)).toBeCloseTo(5.0, 1);
    expect(h.quantile(0.99)).toBeCloseTo(9.9, 1);
    expect(h.quantile(1)).toBe(10);
    h.record(250.4);
    expect(h.quantile(1)).toBe(250.4);
    expect(new Histogram().quantile(0.5)).toBeNaN();
  });
});

describe("delivery", () => {
  test("counts missing, duplicate and overtaken frames per receiver", () => {
    const ok = new SeqState();
    for (let seq = 0; seq < 5; seq++) ok.add(seq, 0, 1);
    const bad = new SeqState();
    for (const seq of [0, 2, 1, 2, 4]) bad.add(seq, 0, 1); // 1 overtaken, 2 twice, 3 lost
    expect(deliveryOk(checkDelivery(5, [totalsOf([ok])]))).toBe(true);
    expect(checkDelivery(5, [totalsOf([ok]), totalsOf([bad], 1)])).toEqual({
      receivers: 2,
      expectedEach: 5,
      missing: 1,
      duplicates: 1,
      reordered: 1,
      idOrderErrors: 1,
    });
    const big = new SeqState();
    big.add(100_000, 0, 1);
    expect(big.unique).toBe(1);
  });
});

describe("peekOutput", () => {
  test("reads Tether's command_output and the bare relay's output without JSON.parse", () => {
    const data = `${(1763780000123.456).toFixed(3)}:xxxx`;
    const tether = JSON.stringify({
      type: "command_output",
      id: "1763780000123-00000007-ab12",
      ts: 1763780000123,
      payload: { command_id: "c-1", host_id: "h-1", seq: 42, stream: "stdout", data },
    });
    expect(peekOutput(tether)).toEqual({ id: "1763780000123-00000007-ab12", key: "c-1", seq: 42, sentAt: 1763780000123.456 });
    const bare = JSON.stringify({ type: "output", payload: { command_id: "k3", seq: 0, stream: "stdout", data } });
    expect(peekOutput(bare)).toEqual({ id: undefined, key: "k3", seq: 0, sentAt: 1763780000123.456 });
    expect(peekOutput('{"type":"host_update","id":"x","payload":{}}')).toBeNull();
  });
});

describe("peekHeartbeat", () => {
  test("reads a heartbeat's host_update without JSON.parse; other host updates are left to JSON.parse", () => {
    const host = { id: "h-9", name: "n", status: "online", hostname: "x", metrics: { hb: 7, t: 1763780000123.5 }, last_seen: 1 };
    const frame = JSON.stringify({ type: "host_update", id: "1763780000124-00000001-ab", ts: 1763780000124, payload: { host } });
    expect(peekHeartbeat(frame)).toEqual({ id: "1763780000124-00000001-ab", hostId: "h-9", hb: 7, t: 1763780000123.5 });
    const plain = JSON.stringify({ type: "host_update", id: "1-2-ab", ts: 1, payload: { host: { id: "h", name: "n", status: "online" } } });
    expect(peekHeartbeat(plain)).toBeNull();
  });
});
