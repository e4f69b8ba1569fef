/**
 * `npm run bench [-- --scenario NAME[,NAME…]] [--quick | --smoke] [--profile] [--out DIR]`
 *
 * Starts its own throwaway Redis, the api, the worker and two hubs as separate processes, runs
 * the scenarios with load generators in forked processes (loopback only, bounded counts and
 * durations), prints the table (delivery verdict first) and writes bench/results/<time>.json.
 * With --profile the hubs are CPU-profiled (like --cpu-prof) and their top self-time functions printed.
 * --smoke is a tiny run (the e2e test's); --out writes the JSON elsewhere. Exit 1 when any
 * receiver lost, duplicated or reordered a frame, or a scenario failed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startTether, openFileLimit, type TetherBench } from "./lib/tether";
import { deliveryFailures, renderReport, type ScenarioResult } from "./lib/report";
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
  const started = Date.now();
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const log = (m: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);
  const limit = openFileLimit();
  if (limit < 12_000) log(`WARNING: open-file limit is ${limit}; idle and storm need ~11,000 (raise it with ulimit -n)`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const profileDir = profile ? path.join(RESULTS_DIR, `profile-${stamp}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`starting redis, api, worker, 2 hubs${profileDir ? " (hubs CPU-profiled)" : ""}`);
  const tether: TetherBench = await startTether({ profileDir });
  const results: ScenarioResult[] = [];
  const load1 = os.loadavg()[0]!;
  const rev = revision();
  try {
    const ctx: Ctx = { size, profile, tether, log };
    for (const scenario of selected) {
      const t0 = Date.now();
      log(`scenario ${scenario.name}`);
      try {
        results.push(await scenario.run(ctx));
      } catch (err) {
        log(`scenario ${scenario.name} FAILED: ${(err as Error).stack ?? String(err)}`);
        results.push({ scenario: scenario.name, rows: [], targets: [], notes: [], error: (err as Error).message });
      }
      log(`scenario ${scenario.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await tether.stop();
  }
  const elapsed = (Date.now() - started) / 1000;
  const header = [
    `Tether bench ${size === "full" ? "full" : `--${size}`}${profile ? " --profile" : ""}, ${new Date(started).toISOString()}, ${elapsed.toFixed(0)} s`,
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), Node ${process.version}, load average at start ${load1.toFixed(2)}, after ${os.loadavg()[0]!.toFixed(2)}`,
    rev,
  ].join("\n");
  const issue15 = issue15Targets(results);
  const report = renderReport(results, header, issue15);
  console.log(report);
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
    elapsedSeconds: elapsed,
  };
  writeFileSync(jsonFile, `${JSON.stringify({ startedAt: new Date(started).toISOString(), env, results, issue15 }, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), jsonFile)}`);
  return deliveryFailures(results).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
