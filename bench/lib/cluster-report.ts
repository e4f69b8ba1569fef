/**
 * `--cluster`'s tables (issue 16 point 7): per measured phase, Redis CPU per master (INFO cpu),
 * µs per frame per master, each master's share, the busiest share against 45%, beside the single
 * Redis's µs per frame for the same phase; and the paragraph that says what a 2-core machine
 * can and cannot show, extrapolated with those per-frame costs.
 */
import { MAX_MASTER_SHARE, shares, usPerFrame, type RedisLoad, type RedisServer } from "./redis-cpu";
import type { Row, ScenarioResult } from "./report";

/** What the cluster stack looked like. */
export interface ClusterLayout {
  masters: Array<RedisServer & { slots: string; partitions: number[] }>;
  partitions: number;
  /** The one-slot groups outside the partitions (the `{g}` global keys, each BullMQ queue) → master. */
  others?: Record<string, string>;
}

/** One measured phase on both stacks. */
export interface ClusterPhase {
  scenario: string;
  case: string;
  frames: number;
  hosts: number;
  /** µs of Redis CPU per frame on the single Redis (the same phase of the single pass), if it ran. */
  singleUs: number | undefined;
  /** µs per frame summed over the masters. */
  clusterUs: number;
  masters: Array<{ name: string; seconds: number; us: number; share: number }>;
  maxShare: number;
  /** Hub A + hub B CPU per frame, µs (from the row's % of one core over the phase), on each stack. */
  hubUsSingle: number | undefined;
  hubUsCluster: number | undefined;
  /** Only phases whose frames come from many hosts (spread over the partitions) are held to the 45%. */
  verdict: "PASS" | "MISS" | "n/a";
}

const fmt = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [render(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(render)].join("\n");
}

/** Hub A + B CPU µs per frame over a row's phase (its `cpu` is % of one core over about the Redis window). */
function hubUs(row: Row | undefined, load: RedisLoad | undefined): number | undefined {
  if (!row?.cpu || !load || load.frames === 0) return undefined;
  const pctSum = (row.cpu.hubA ?? 0) + (row.cpu.hubB ?? 0);
  return ((pctSum / 100) * load.wallSeconds * 1e6) / load.frames;
}

/** Every phase of the cluster pass that has Redis figures, matched with the single pass's same phase. */
export function clusterPhases(single: readonly ScenarioResult[], cluster: readonly ScenarioResult[]): ClusterPhase[] {
  const out: ClusterPhase[] = [];
  for (const r of cluster) {
    for (const row of r.rows) {
      const load = row.redis;
      if (!load) continue;
      const twin = single.find((s) => s.scenario === r.scenario)?.rows.find((x) => x.case === row.case && x.system === "tether");
      const singleLoad = twin?.redis;
      const sh = shares(load);
      const masters = Object.entries(load.seconds).map(([name, seconds]) => ({
        name,
        seconds,
        us: usPerFrame(seconds, load.frames),
        share: sh.each[name] ?? 0,
      }));
      out.push({
        scenario: r.scenario,
        case: row.case,
        frames: load.frames,
        hosts: load.hosts,
        singleUs: singleLoad
          ? usPerFrame(
              Object.values(singleLoad.seconds).reduce((a, b) => a + b, 0),
              singleLoad.frames,
            )
          : undefined,
        clusterUs: usPerFrame(sh.total, load.frames),
        masters,
        maxShare: sh.max,
        hubUsSingle: hubUs(twin, singleLoad),
        hubUsCluster: hubUs(row, load),
        verdict: load.hosts < 100 ? "n/a" : sh.max <= MAX_MASTER_SHARE ? "PASS" : "MISS",
      });
    }
  }
  return out;
}

export function renderLayout(layout: ClusterLayout): string {
  const lines = layout.masters.map(
    (m) => `- ${m.name} (port ${m.port}, slots ${m.slots}): partitions ${m.partitions.map((p) => `p${p}`).join(" ") || "none"}`,
  );
  const others = Object.entries(layout.others ?? {}).map(([what, m]) => `${what} → ${m}`);
  return [
    `Redis Cluster: ${layout.masters.length} masters, no replicas, LOG_PARTITIONS=${layout.partitions}`,
    ...lines,
    ...(others.length ? [`- outside the partitions, one slot each: ${others.join(", ")}`] : []),
  ].join("\n");
}

/** The per-phase table: one line per phase, a column group per master. */
export function renderClusterTable(phases: readonly ClusterPhase[]): string {
  const names = [...new Set(phases.flatMap((p) => p.masters.map((m) => m.name)))].sort();
  const lines = phases.map((p) => [
    p.scenario,
    p.case,
    String(p.frames),
    String(p.hosts),
    fmt(p.singleUs),
    fmt(p.clusterUs),
    ...names.map((n) => {
      const m = p.masters.find((x) => x.name === n);
      return m ? `${m.seconds.toFixed(3)} s · ${fmt(m.us)} µs · ${pct(m.share)}` : "-";
    }),
    pct(p.maxShare),
    p.verdict === "n/a"
      ? p.hosts === 1
        ? "n/a (1 host: 1 partition)"
        : `n/a (${p.hosts} hosts)`
      : `${p.verdict} (≤ ${MAX_MASTER_SHARE * 100}%)`,
  ]);
  return table(
    [
      "scenario",
      "case",
      "frames",
      "hosts",
      "1 Redis µs/frame",
      "cluster µs/frame",
      ...names.map((n) => `${n}: CPU · µs/frame · share`),
      "max share",
      "spread target",
    ],
    lines,
  );
}

/**
 * What this machine can and cannot show, with the measured per-frame costs carried to N masters on
 * N machines. `basis` is the phase the extrapolation stands on (the widest spread: most hosts).
 */
export function honestParagraph(phases: readonly ClusterPhase[], env: { cores: number; loadStart: number; loadEnd: number }): string {
  // The steadiest spread phase: frames from many hosts, the most frames (a heartbeat stream rather than a reconnect storm).
  const basis = [...phases].filter((p) => p.hosts >= 100).sort((a, b) => b.frames - a.frames)[0];
  const lines: string[] = [
    `What ${env.cores} cores can and cannot show (load average ${env.loadStart.toFixed(2)} at start, ${env.loadEnd.toFixed(2)} at the end):` +
      ` the 3 masters, 2 hubs, the api, the worker and every load generator share the same ${env.cores} cores,` +
      ` so the cluster cannot raise throughput here, and latency figures on it include the masters' competing for those cores.` +
      ` What it does show is each master's CPU per frame and the spread of load over the masters, which carry over to machines of their own.`,
  ];
  if (!basis) {
    lines.push("No phase with frames from many hosts was measured (run `fleet`), so no extrapolation.");
    return lines.join("\n");
  }
  const busiest = basis.masters.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  const busiestUs = basis.clusterUs * basis.maxShare;
  const single = basis.singleUs;
  const capacity = (us: number) => Math.round(1e6 / us).toLocaleString("en-US");
  lines.push(
    `Basis: ${basis.scenario} "${basis.case}" (${basis.frames} frames from ${basis.hosts} hosts over 8 partitions).` +
      ` Redis CPU per frame: ${fmt(single)} µs on one Redis, ${fmt(basis.clusterUs)} µs summed over the masters` +
      `${single ? ` (${(basis.clusterUs / single).toFixed(2)}× one Redis: the same writes, split over more servers, plus each master's own housekeeping and cluster bus)` : ""};` +
      ` the busiest master (${busiest.name}) took ${pct(basis.maxShare)} of it, ${fmt(busiestUs)} µs per frame of the whole stream.` +
      ` Frames from one host (output, dispatch) stay on its partition's master by design: one command's stream is never spread.`,
  );
  if (single) {
    lines.push(
      `Extrapolation (Redis CPU only, one core per Redis main thread, hubs scaled out beside it): one Redis saturates near ${capacity(single)} such frames/s;` +
        ` 3 masters on 3 machines near ${capacity(busiestUs)} frames/s (${(single / busiestUs).toFixed(2)}× one Redis), bound by the busiest master.` +
        ` With LOG_PARTITIONS=8 the busiest of N masters holds at least ceil(8/N)/8 of the partitions: ` +
        [4, 8]
          .map((n) => {
            const share = Math.ceil(8 / n) / 8;
            return `N=${n}: share ≥ ${pct(share)}, ≈ ${capacity(basis.clusterUs * share)} frames/s`;
          })
          .join("; ") +
        `; beyond 8 masters, more partitions are needed (LOG_PARTITIONS is fixed at first start: choose it for the largest cluster foreseen).`,
    );
  }
  const hubs = basis.hubUsCluster;
  if (hubs !== undefined) {
    lines.push(
      `The hubs, not Redis, are the first limit: hub A + hub B used ≈ ${fmt(hubs)} µs per frame on the cluster stack` +
        `${basis.hubUsSingle !== undefined ? ` (≈ ${fmt(basis.hubUsSingle)} µs on one Redis)` : ""}, more than Redis's ${fmt(basis.clusterUs)} µs;` +
        ` hubs scale out on their own (agents spread over hubs), so a deployment adds hubs first and masters when one Redis core is the limit.` +
        ` These are figures of one run on a shared machine: take the ratios, not the absolute rates.`,
    );
  }
  return lines.join("\n");
}
