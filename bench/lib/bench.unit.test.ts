/** The bench's own arithmetic: histogram quantiles, delivery checks, the output fast path, the cluster table. */
import { peekHeartbeat, peekOutput } from "../gen/receivers";
import { checkDelivery, deliveryOk, SeqState, totalsOf } from "./delivery";
import { Histogram } from "./hist";
import { cpuPerFrameUs, issue15Targets, ratioTarget, repeated } from "./issue15";
import { renderReport, type ScenarioResult } from "./report";
import { partitionOf } from "@tether/core";
import { clusterPhases, honestParagraph, renderClusterTable } from "./cluster-report";
import { hostsPerMaster, parseClusterSlots, parseCpuSeconds, partitionMasters, shares } from "./redis-cpu";

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

describe("issue 15 targets", () => {
  test("a ratio of medians, with both medians and every repetition shown", () => {
    expect(repeated([4.4, 1.0, 0.7])).toEqual({ median: 1.0, runs: [4.4, 1.0, 0.7] });
    expect(repeated([Number.NaN])).toBeUndefined();
    const t = ratioTarget({
      point: 1,
      name: "output p99 @1k/s ÷ bare",
      tether: repeated([2.8, 1.2, 1.4]),
      reference: repeated([4.4, 1.0, 0.7]),
      against: "bare",
      goal: 1.3,
      unit: " ms",
    });
    expect(t).toEqual({
      point: 1,
      name: "output p99 @1k/s ÷ bare",
      actual: "1.40×",
      goal: "≤ 1.3×",
      pass: false,
      tether: "1.40 ms",
      reference: "bare 1.00 ms",
      spread: "tether 2.80 / 1.20 / 1.40 ms; bare 4.40 / 1.00 / 0.70 ms",
    });
    const missing = ratioTarget({
      point: 4,
      name: "x",
      tether: repeated([9]),
      reference: undefined,
      against: "bare",
      goal: 1,
      unit: " KiB",
    });
    expect(missing).toMatchObject({ actual: "not measured", pass: null, tether: "9.00 KiB", reference: undefined, spread: undefined });
  });

  test("CPU per frame: both relay nodes' CPU-seconds over the frames all receivers got", () => {
    const delivery = { receivers: 3, expectedEach: 10_000, missing: 0, duplicates: 0, reordered: 0, idOrderErrors: 0 };
    // 0.9 s + 0.6 s over 30,000 deliveries = 50 µs; Redis and the generators do not count.
    expect(cpuPerFrameUs("bare", { cpuSeconds: { bareA: 0.9, bareB: 0.6, redis: 5 }, delivery })).toBeCloseTo(50, 6);
    expect(cpuPerFrameUs("tether", { cpuSeconds: { hubA: 0.9 }, delivery })).toBeNaN();
  });

  test("dispatch ÷ online across two scenarios, sorted by point; printed after the issue 8 table", () => {
    const row = (scenario: string, p99: number) => ({ scenario, case: "c", system: "tether" as const, n: 300, p99 });
    const storm = ratioTarget({ point: 5, name: "storm", tether: undefined, reference: undefined, against: "-", goal: 1, unit: "" });
    const fanout = ratioTarget({
      point: 3,
      name: "fanout",
      tether: repeated([3]),
      reference: repeated([2]),
      against: "bare",
      goal: 1.1,
      unit: " ms",
    });
    const results: ScenarioResult[] = [
      { scenario: "online", rows: [row("online", 8)], targets: [], notes: [] },
      { scenario: "storm", rows: [], targets: [], notes: [], issue15: [storm] },
      { scenario: "dispatch", rows: [row("dispatch", 10)], targets: [], notes: [] },
      { scenario: "fanout", rows: [], targets: [], notes: [], issue15: [fanout] },
    ];
    const targets = issue15Targets(results);
    expect(targets.map((t) => [t.point, t.name, t.actual, t.pass])).toEqual([
      [2, "dispatch → agent p99 ÷ online p99", "1.25×", true],
      [3, "fanout", "1.50×", false],
      [5, "storm", "not measured", null],
    ]);
    expect(issue15Targets([results[1]!]).map((t) => t.point)).toEqual([5]);
    const report = renderReport(results, "header", targets);
    expect(report.indexOf("Targets (issue 8)")).toBeGreaterThan(0);
    expect(report.indexOf("Targets (issue 15)")).toBeGreaterThan(report.indexOf("Targets (issue 8)"));
    expect(report).toMatch(/\| MISS \| 3 \| fanout +\| 1\.50× +\| ≤ 1\.1× +\| 3\.00 ms +\| bare 2\.00 ms +\|/);
    expect(renderReport(results, "header")).not.toMatch(/issue 15/);
  });
});

describe("Redis CPU per master (issue 16)", () => {
  test("INFO cpu: used_cpu_sys + used_cpu_user; a reply without them is an error, not a zero", () => {
    const info = "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\n";
    expect(parseCpuSeconds(info)).toBeCloseTo(3.75, 6);
    expect(() => parseCpuSeconds("# CPU\r\n")).toThrow(/used_cpu_sys/);
  });

  test("8 partitions over 3 masters by slot range: 3/2/3, every partition placed; hosts follow their partition", () => {
    const ranges = parseClusterSlots([
      [0, 5460, ["127.0.0.1", 7001, "id0"]],
      [5461, 10922, ["127.0.0.1", 7002, "id1"]],
      [10923, 16383, ["127.0.0.1", 7003, "id2"]],
    ]);
    const servers = [7001, 7002, 7003].map((port, i) => ({ name: `m${i}`, port, pid: undefined }));
    const of = partitionMasters(8, ranges, servers);
    expect(of).toEqual(["m0", "m0", "m0", "m1", "m1", "m2", "m2", "m2"]);
    const ids = Array.from({ length: 80 }, (_, i) => `host-${i}`);
    const per = hostsPerMaster(ids, of);
    expect(per.m0! + per.m1! + per.m2!).toBe(80);
    expect(per.m1).toBe(ids.filter((id) => [3, 4].includes(partitionOf(id, 8))).length);
    expect(() => partitionMasters(8, ranges.slice(0, 2), servers)).toThrow(/served by no known master/);
  });

  test("the table: µs per frame per master, shares, and the 45% verdict only where frames come from many hosts", () => {
    const row = (c: string, hosts: number, seconds: Record<string, number>, system: "tether" | "tether-cluster" = "tether") => ({
      scenario: "fleet",
      case: c,
      system,
      n: 1,
      cpu: { hubA: 50, hubB: 30 },
      redis: { seconds, wallSeconds: 10, frames: 20_000, hosts },
    });
    const single: ScenarioResult[] = [
      { scenario: "fleet", rows: [row("spread", 2000, { redis: 0.4 }), row("one host", 1, { redis: 0.2 })], targets: [], notes: [] },
    ];
    const cluster: ScenarioResult[] = [
      {
        scenario: "fleet",
        rows: [row("spread", 2000, { m0: 0.2, m1: 0.15, m2: 0.15 }), row("one host", 1, { m0: 0.01, m1: 0.01, m2: 0.28 })],
        targets: [],
        notes: [],
      },
    ];
    const [spread, one] = clusterPhases(single, cluster);
    expect(spread!.singleUs).toBeCloseTo(20, 6); // 0.4 s / 20,000 frames
    expect(spread!.clusterUs).toBeCloseTo(25, 6);
    expect(spread!.masters.find((m) => m.name === "m0")).toMatchObject({ us: expect.closeTo(10, 6), share: expect.closeTo(0.4, 6) });
    expect(spread!.maxShare).toBeCloseTo(0.4, 6);
    expect(spread!.verdict).toBe("PASS");
    expect(spread!.hubUsCluster).toBeCloseTo(400, 6); // 80% of a core over 10 s / 20,000 frames
    expect(one!.verdict).toBe("n/a");
    const over = clusterPhases(single, [{ ...cluster[0]!, rows: [row("spread", 2000, { m0: 0.3, m1: 0.1, m2: 0.1 })] }]);
    expect(over[0]!.verdict).toBe("MISS");
    const table = renderClusterTable([spread!, one!]);
    expect(table).toMatch(/\| m0: CPU · µs\/frame · share \| m1: CPU · µs\/frame · share \| m2: CPU · µs\/frame · share \|/);
    expect(table).toMatch(
      /\| fleet +\| spread +\| 20000 +\| 2000 +\| 20\.0 +\| 25\.0 +\| 0\.200 s · 10\.0 µs · 40\.0% .*\| 40\.0% +\| PASS \(≤ 45%\) +\|/,
    );
    expect(table).toMatch(/n\/a \(1 host: 1 partition\)/);
    expect(shares({ seconds: { m0: 0, m1: 0 }, wallSeconds: 1, frames: 0, hosts: 1 }).max).toBe(0);
    // The extrapolation stands on the widest spread: one Redis 20 µs → 50,000/s; the busiest master 25 × 0.4 = 10 µs → 100,000/s.
    const text = honestParagraph([spread!, one!], { cores: 2, loadStart: 3, loadEnd: 4 });
    expect(text).toMatch(/share the same 2 cores/);
    expect(text).toMatch(
      /one Redis saturates near 50,000 such frames\/s; 3 masters on 3 machines near 100,000 frames\/s \(2\.00× one Redis\)/,
    );
    expect(text).toMatch(/N=8: share ≥ 12\.5%, ≈ 320,000 frames\/s/);
  });
});
