/**
 * `npm run bench [-- --scenario NAME[,NAME…]] [--quick | --smoke] [--profile | --cluster] [--tsx] [--out DIR]`
 *
 * Starts its own throwaway Redis, the api, the worker and two hubs as separate processes (as they
 * ship: bundled by scripts/build.ts first, then `node services/<name>/dist/main.js`; with --tsx
 * the TypeScript through tsx, as `npm start` runs it), runs the scenarios with load generators in
 * forked processes (loopback only, bounded counts and durations), prints the table (delivery
 * verdict first) and writes bench/results/<time>.json.
 * With --profile the hubs are CPU-profiled (like --cpu-prof) and their top self-time functions printed.
 * With --cluster the scenarios run twice, on the single Redis and then on a 3-master Redis Cluster
 * with LOG_PARTITIONS=8 (rows `tether-cluster`, Tether alone, no `run`), and a table gives Redis
 * CPU per frame per master and the spread over the masters (issue 16 point 7).
 * --smoke is a tiny run (the e2e test's); --out writes the JSON elsewhere. Exit 1 when any
 * receiver lost, duplicated or reordered a frame, or a scenario failed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import calculateSlot from "cluster-key-slot";
import { GLOBAL_TAG, QueueName, queueTag } from "@tether/core";
import { buildServices } from "../scripts/build";
import { startTether, openFileLimit, type TetherBench } from "./lib/tether";
import { deliveryFailures, renderReport, type ScenarioResult } from "./lib/report";
import { clusterPhases, honestParagraph, renderClusterTable, renderLayout, type ClusterLayout } from "./lib/cluster-report";
import { issue15Targets } from "./lib/issue15";
import { renderTop } from "./lib/profile";
import type { Ctx, Scenario, Size } from "./lib/scenario";
import { SCENARIOS } from "./scenarios";

const DEFAULT_RESULTS_DIR = path.join(__dirname, "results");

/** The commit measured, and whether the hub's code had uncommitted changes (the tree is shared). */
function revision(): string {
  const git = (...args: string[]) => (spawnSync("git", args, { cwd: path.join(__dirname, ".."), encoding: "utf8" }).stdout ?? "").trim();
  const dirty = git("status", "--porcelain", "--", "services", "packages").split("\n").filter(Boolean).length;
  // BENCH_REVISION names the commit when the bench runs from an exported snapshot (no .git).
  return `commit ${git("rev-parse", "--short", "HEAD") || process.env.BENCH_REVISION || "?"}${dirty ? ` + ${dirty} uncommitted files in services/ and packages/` : ""}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      cluster: { type: "boolean", default: false },
      tsx: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const RESULTS_DIR = path.resolve(values.out ?? DEFAULT_RESULTS_DIR);
  const names = (values.scenario ?? []).flatMap((s) => s.split(",")).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}\n`);
    return 2;
  }
  const selected: Scenario[] = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const size: Size = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const profile = values.profile ?? false;
  const withCluster = values.cluster ?? false;
  if (profile && withCluster) {
    process.stderr.write("--profile and --cluster do not go together (the profiles would mix both stacks' hubs)\n");
    return 2;
  }
  const started = Date.now();
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const log = (m: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);
  const limit = openFileLimit();
  if (limit < 12_000) log(`WARNING: open-file limit is ${limit}; idle and storm need ~11,000 (raise it with ulimit -n)`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const profileDir = profile ? path.join(RESULTS_DIR, `profile-${stamp}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const load1 = os.loadavg()[0]!;
  const rev = revision();
  const runPass = async (
    cluster: boolean,
    starting: Promise<TetherBench>,
  ): Promise<{ results: ScenarioResult[]; tether: TetherBench; layout?: ClusterLayout }> => {
    const tether: TetherBench = await starting;
    const results: ScenarioResult[] = [];
    let layout: ClusterLayout | undefined;
    try {
      if (cluster) {
        const ranges = await tether.redisCpu.slotRanges();
        layout = {
          partitions: tether.partitionMasters.length,
          masters: tether.redisServers.map((m) => ({
            ...m,
            slots: ranges
              .filter((r) => r.port === m.port)
              .map((r) => `${r.start}-${r.end}`)
              .join(","),
            partitions: tether.partitionMasters.flatMap((name, p) => (name === m.name ? [p] : [])),
          })),
          others: Object.fromEntries(
            [GLOBAL_TAG, ...Object.values(QueueName)].map((name) => {
              // A queue's keys sit under its own tag (queueTag), not its name.
              const tag = name === GLOBAL_TAG ? name : queueTag(name);
              const slot = calculateSlot(tag);
              const port = ranges.find((r) => slot >= r.start && slot <= r.end)?.port;
              const label = name === GLOBAL_TAG ? `{${tag}} (users, sessions, hub liveness, audit)` : `BullMQ ${name} {${tag}}`;
              return [label, tether.redisServers.find((s) => s.port === port)?.name ?? "?"];
            }),
          ),
        };
        log(renderLayout(layout).replace(/\n/g, "; "));
      }
      const ctx: Ctx = { size, profile, cluster, tether, log };
      // Runs are refused on a cluster (409 runs_unavailable, CONTRACT §6).
      for (const scenario of cluster ? selected.filter((s) => s.name !== "run") : selected) {
        const t0 = Date.now();
        const tag = cluster ? " (cluster)" : "";
        log(`scenario ${scenario.name}${tag}`);
        try {
          results.push(await scenario.run(ctx));
        } catch (err) {
          log(`scenario ${scenario.name}${tag} FAILED: ${(err as Error).stack ?? String(err)}`);
          results.push({ scenario: scenario.name, rows: [], targets: [], notes: [], error: (err as Error).message });
        }
        log(`scenario ${scenario.name}${tag} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
    } catch (err) {
      await tether.stop();
      throw err;
    }
    return { results, tether, ...(layout ? { layout } : {}) };
  };
  log(
    `starting redis${withCluster ? " and, beside it, a 3-master Redis Cluster (LOG_PARTITIONS=8), each with" : ","} api, worker, 2 hubs${profileDir ? " (hubs CPU-profiled)" : ""}`,
  );
  // Both stacks start at once (start-up is most of a short run's time); the one not measured idles.
  const built = !(values.tsx ?? false);
  if (built) {
    const t0 = Date.now();
    await buildServices();
    log(`built the services (scripts/build.ts) in ${Date.now() - t0} ms; running services/<name>/dist/main.js`);
  }
  const startingSingle = startTether({ profileDir, built });
  const startingCluster = withCluster ? startTether({ cluster: true, built }) : undefined;
  // Observed now (an unobserved rejection would end the process); a failed start is reported by its pass.
  startingCluster?.catch(() => undefined);
  // Both stacks stay up until both passes are done: each pass runs beside the other stack idling, alike.
  const stopOne = async (p: Promise<TetherBench> | undefined): Promise<void> => {
    if (p) await p.then((t) => t.stop()).catch(() => undefined);
  };
  const stopBoth = () => Promise.all([stopOne(startingSingle), stopOne(startingCluster)]);
  let single: Awaited<ReturnType<typeof runPass>>;
  let clustered: { results: ScenarioResult[]; layout?: ClusterLayout } | undefined;
  try {
    single = await runPass(false, startingSingle);
    clustered = startingCluster
      ? await runPass(true, startingCluster).catch((err: unknown) => {
          log(`cluster stack FAILED: ${(err as Error).stack ?? String(err)}`);
          const failed: ScenarioResult = {
            scenario: "cluster",
            rows: [],
            targets: [],
            notes: [],
            error: `cluster stack: ${(err as Error).message}`,
          };
          return { results: [failed] };
        })
      : undefined;
  } finally {
    await stopBoth();
  }
  const tether = single.tether;
  const results = single.results;
  // The cluster pass as its own rows: system `tether-cluster`, targets named so, no issue 15 ratios (no references ran).
  const clusterResults: ScenarioResult[] = (clustered?.results ?? []).map((r) => ({
    scenario: r.scenario,
    rows: r.rows.map((row) => ({ ...row, system: row.system === "tether" ? "tether-cluster" : row.system })),
    targets: r.targets.map((t) => ({ ...t, name: `[cluster] ${t.name}` })),
    notes: r.notes.map((n) => `[cluster] ${n}`),
    ...(r.error ? { error: `[cluster] ${r.error}` } : {}),
  }));
  // Each scenario's single-Redis result, then its cluster one: the two rows of a case sit together.
  const merged: ScenarioResult[] = [...results];
  for (const c of clusterResults) {
    const at = merged.map((r) => r.scenario).lastIndexOf(c.scenario);
    merged.splice(at === -1 ? merged.length : at + 1, 0, c);
  }
  const elapsed = (Date.now() - started) / 1000;
  const header = [
    `Tether bench ${size === "full" ? "full" : `--${size}`}${profile ? " --profile" : ""}${withCluster ? " --cluster" : ""}${built ? "" : " --tsx"}, ${new Date(started).toISOString()}, ${elapsed.toFixed(0)} s`,
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), Node ${process.version}, load average at start ${load1.toFixed(2)}, after ${os.loadavg()[0]!.toFixed(2)}`,
    rev,
  ].join("\n");
  const issue15 = issue15Targets(results);
  const report = renderReport(merged, header, issue15);
  console.log(report);
  let clusterJson: unknown;
  if (clustered?.layout) {
    const phases = clusterPhases(results, clustered.results);
    const paragraph = honestParagraph(phases, { cores: os.cpus().length, loadStart: load1, loadEnd: os.loadavg()[0]! });
    console.log(
      [
        "",
        "Redis Cluster (issue 16): Redis CPU per measured phase (INFO cpu used_cpu_sys + used_cpu_user, before and after)",
        "",
        renderLayout(clustered.layout),
        "",
        renderClusterTable(phases),
        "",
        paragraph,
      ].join("\n"),
    );
    clusterJson = { layout: clustered.layout, phases, paragraph };
  }
  if (profileDir) {
    const roles = new Map([
      [tether.hubA.pid, "hub A (agents: validate, append to Redis)"],
      [tether.hubB.pid, "hub B (browsers: relay from Pub/Sub)"],
    ]);
    for (const file of readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))) {
      const role = roles.get(Number(/hub-(\d+)/.exec(file)?.[1])) ?? "other hub";
      console.log(`\nCPU profile of ${role}\n${renderTop(path.join(profileDir, file), 20)}`);
    }
  }
  const jsonFile = path.join(RESULTS_DIR, `${stamp}.json`);
  const env = {
    cores: os.cpus().length,
    node: process.version,
    loadAvgStart: load1,
    loadAvgEnd: os.loadavg()[0],
    size,
    profile,
    cluster: withCluster,
    elapsedSeconds: elapsed,
  };
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ startedAt: new Date(started).toISOString(), env, results, issue15, ...(clustered ? { clusterResults, cluster: clusterJson } : {}) }, null, 2)}\n`,
  );
  log(`wrote ${path.relative(process.cwd(), jsonFile)}`);
  return deliveryFailures(merged).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
