/**
 * Results: table rows, targets (PASS/MISS, not tests) and the delivery verdict, printed for a
 * person and written as JSON. Delivery failures are printed first and loudly.
 */
import { describeCpu } from "./cpu";
import { deliveryOk, describeDelivery, type DeliveryCheck } from "./delivery";
import type { RedisLoad } from "./redis-cpu";
import type { System } from "../gen/protocol";

/** A row's system: a relay, or Tether on the cluster stack (`--cluster`). */
export type RowSystem = System | "tether-cluster";

/**
 * One line of the table. Latencies in ms; `rate` in frames (or deliveries) per second; `n` is
 * the number of latency samples (one per frame per receiver) or of agents/sockets.
 */
export interface Row {
  scenario: string;
  case: string;
  system: RowSystem;
  n: number;
  p50?: number;
  p99?: number;
  p999?: number;
  max?: number;
  rate?: number;
  note?: string;
  delivery?: DeliveryCheck;
  /** % of one core per process while it was measured. */
  cpu?: Record<string, number>;
  /** Redis CPU per server over the measured phase, and the frames it is divided by (issue 16). */
  redis?: RedisLoad;
}

/** A target from issue 8 or 15; `pass` null when the run did not measure it (another scenario, --quick sizes). */
export interface Target {
  name: string;
  actual: string;
  goal: string;
  pass: boolean | null;
  /** Issue 15's targets: which of its points, and the figures the ratio is made of. */
  point?: number;
  /** Tether's median (or single) figure. */
  tether?: string;
  /** What it is held against: the reference's median, another scenario's figure, a baseline. */
  reference?: string;
  /** Every repetition's figure, Tether's and the reference's, where there were repetitions. */
  spread?: string;
}

export interface ScenarioResult {
  scenario: string;
  rows: Row[];
  targets: Target[];
  notes: string[];
  /** Issue 15's targets this scenario measured alone (the dispatch ÷ online one is made in bench/lib/issue15.ts). */
  issue15?: Target[];
  /** Set when the scenario itself failed (exception): the rest of the run goes on. */
  error?: string;
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits));
const fmtRate = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "-" : Math.round(v).toLocaleString("en-US"));

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [render(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(render)].join("\n");
}

/** Everything that lost, duplicated or reordered a frame (or whose scenario failed), or []. */
export function deliveryFailures(results: readonly ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (r.error) out.push(`${r.scenario}: SCENARIO FAILED: ${r.error.split("\n")[0]}`);
    for (const row of r.rows) {
      if (row.delivery && !deliveryOk(row.delivery))
        out.push(`${row.scenario} / ${row.case} / ${row.system}: ${describeDelivery(row.delivery)}`);
    }
  }
  return out;
}

export function resultsTable(results: readonly ScenarioResult[]): string {
  const lines = results.flatMap((r) =>
    r.rows.map((row) => [
      row.scenario,
      row.case,
      row.system,
      String(row.n),
      fmt(row.p50),
      fmt(row.p99),
      fmt(row.p999),
      fmt(row.max),
      fmtRate(row.rate),
      row.delivery ? (deliveryOk(row.delivery) ? "ok" : "FAILED") : "-",
      row.note ?? "",
    ]),
  );
  return table(["scenario", "case", "system", "samples", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "per s", "delivery", "note"], lines);
}

/** Tether's figures over bare's and Socket.IO's for every case measured on all of them. */
export function ratioTable(results: readonly ScenarioResult[]): string {
  const lines: string[][] = [];
  for (const r of results) {
    for (const t of r.rows.filter((row) => row.system === "tether")) {
      const ref = (s: System) => r.rows.find((row) => row.system === s && row.case === t.case);
      const bare = ref("bare");
      const sio = ref("sio");
      if (!bare && !sio) continue;
      const ratio = (a?: number, b?: number) => (a === undefined || b === undefined || !b ? "-" : `${(a / b).toFixed(2)}×`);
      lines.push([
        r.scenario,
        t.case,
        ratio(t.p50, bare?.p50),
        ratio(t.p99, bare?.p99),
        ratio(t.rate, bare?.rate),
        ratio(t.p50, sio?.p50),
        ratio(t.p99, sio?.p99),
        ratio(t.rate, sio?.rate),
      ]);
    }
  }
  if (lines.length === 0) return "";
  return table(["scenario", "case", "p50 /bare", "p99 /bare", "rate /bare", "p50 /sio", "p99 /sio", "rate /sio"], lines);
}

/** Where the CPU went in each measured row: tells a relay's limit from the load generator's. */
export function cpuTable(results: readonly ScenarioResult[]): string {
  const lines = results.flatMap((r) =>
    r.rows.filter((row) => row.cpu).map((row) => [row.scenario, row.case, row.system, describeCpu(row.cpu)]),
  );
  return lines.length ? table(["scenario", "case", "system", "CPU, % of one core (2 cores = 200%)"], lines) : "";
}

export function targetsTable(results: readonly ScenarioResult[]): string {
  const lines = results.flatMap((r) =>
    r.targets.map((t) => [t.pass === null ? "n/a" : t.pass ? "PASS" : "MISS", t.name, t.actual, t.goal]),
  );
  return table(["", "target", "actual", "goal"], lines);
}

/** Issue 15's targets: the ratio, both medians and the repetitions they are the medians of. */
export function issue15Table(targets: readonly Target[]): string {
  const lines = targets.map((t) => [
    t.pass === null ? "n/a" : t.pass ? "PASS" : "MISS",
    String(t.point ?? ""),
    t.name,
    t.actual,
    t.goal,
    t.tether ?? "",
    t.reference ?? "",
    t.spread ?? "",
  ]);
  return table(["", "#", "target", "actual", "goal", "tether", "against", "repetitions"], lines);
}

/** The whole report, delivery verdict first; `issue15` from bench/lib/issue15.ts `issue15Targets`. */
export function renderReport(results: readonly ScenarioResult[], header: string, issue15: readonly Target[] = []): string {
  const failures = deliveryFailures(results);
  const verdict =
    failures.length === 0
      ? "DELIVERY: every receiver got every frame once, in order."
      : [
          "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
          "!!! DELIVERY FAILED: frames were LOST, DUPLICATED or REORDERED !!!",
          ...failures.map((f) => `!!! ${f}`),
          "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ].join("\n");
  const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.scenario}: ${n}`));
  const ratios = ratioTable(results);
  return [
    verdict,
    "",
    header,
    "",
    resultsTable(results),
    ...(ratios ? ["", "Tether ÷ reference (latency: lower is better; rate: higher is better)", "", ratios] : []),
    "",
    "Targets (issue 8)",
    "",
    targetsTable(results),
    ...(issue15.length ? ["", "Targets (issue 15)", "", issue15Table(issue15)] : []),
    ...(cpuTable(results) ? ["", "CPU while measuring", "", cpuTable(results)] : []),
    ...(notes.length ? ["", "Notes", ...notes] : []),
  ].join("\n");
}
