/**
 * Issue 8: the benchmark cannot rot. A tiny `output` run (Tether, bare relay and Socket.IO,
 * every phase) through the real CLI: its own Redis, api, worker, two hubs and generator
 * processes; the report leads with the delivery verdict and the JSON holds every system's row.
 * Issue 16 point 7: a tiny `--cluster` run of `fleet`, on the single Redis and on a real
 * 3-master Redis Cluster with LOG_PARTITIONS=8: both rows, and the cluster table with 3 masters.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readLines, spawnOwned } from "../support/children";
import { withTimeout } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");

interface BenchResult {
  scenario: string;
  error?: string;
  rows: Array<{
    case: string;
    system: string;
    n: number;
    delivery?: { missing: number; duplicates: number; reordered: number; idOrderErrors: number };
  }>;
}

interface BenchJson {
  results: BenchResult[];
  clusterResults?: BenchResult[];
  cluster?: {
    layout: { partitions: number; masters: Array<{ name: string; partitions: number[] }> };
    phases: Array<{ scenario: string; case: string; frames: number; hosts: number; masters: Array<{ name: string; seconds: number }> }>;
  };
}

/** Runs the bench CLI with `args`; resolves with its exit code and output lines. */
async function runBench(args: string[], boundMs: number): Promise<{ code: number | null; stdout: string[]; context: string }> {
  const child = spawnOwned(process.execPath, ["--import", "tsx", "bench/main.ts", ...args], { cwd: ROOT, env: { ...process.env } });
  const stdout: string[] = [];
  const stderr: string[] = [];
  readLines(child.child, (line, stream) => (stream === "stdout" ? stdout : stderr).push(line));
  const exit = await withTimeout(child.exited, boundMs, () => `bench did not finish; stderr:\n${stderr.slice(-30).join("\n")}`);
  return { code: exit.code, stdout, context: `exit ${exit.code}; stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.slice(-30).join("\n")}` };
}

function readJson(dir: string): BenchJson {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  expect(files).toHaveLength(1);
  return JSON.parse(readFileSync(path.join(dir, files[0]!), "utf8")) as BenchJson;
}

describe("bench smoke", () => {
  let out: string;
  let clusterOut: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(os.tmpdir(), "tether-bench-"));
    clusterOut = mkdtempSync(path.join(os.tmpdir(), "tether-bench-cluster-"));
  });
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(clusterOut, { recursive: true, force: true });
  });

  test("npm run bench -- --scenario output --smoke: every system measured, nothing lost, report and JSON written", async () => {
    const child = spawnOwned(process.execPath, ["--import", "tsx", "bench/main.ts", "--scenario", "output", "--smoke", "--out", out], {
      cwd: ROOT,
      env: { ...process.env },
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    readLines(child.child, (line, stream) => (stream === "stdout" ? stdout : stderr).push(line));
    // A bound, not a target: the smoke run takes ~20 s quiet, but its own stack (redis, api, worker,
    // two hubs) took 24 s just to start at load 20+ on this 2-core machine.
    const exit = await withTimeout(child.exited, 150_000, () => `bench did not finish; stderr:\n${stderr.slice(-30).join("\n")}`);
    const context = `exit ${exit.code}; stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.slice(-30).join("\n")}`;
    expect({ code: exit.code, context }).toEqual({ code: 0, context });

    expect(stdout[0]).toBe("DELIVERY: every receiver got every frame once, in order.");
    const report = stdout.join("\n");
    for (const system of ["tether", "bare", "sio"]) expect(report).toMatch(new RegExp(`\\| output +\\| max +\\| ${system} `));
    expect(report).toMatch(/Targets \(issue 8\)/);

    const files = readdirSync(out).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(1);
    const json = JSON.parse(readFileSync(path.join(out, files[0]!), "utf8")) as BenchJson;
    const [result] = json.results;
    expect(result?.scenario).toBe("output");
    expect(result?.error).toBeUndefined();
    for (const system of ["tether", "bare", "sio"]) {
      const rows = result!.rows.filter((r) => r.system === system);
      expect(rows.map((r) => r.case)).toEqual(["1k/s", "5k/s", "max"]);
      for (const row of rows) {
        expect(row.n).toBeGreaterThan(0);
        expect(row.delivery).toMatchObject({ missing: 0, duplicates: 0, reordered: 0 });
      }
    }
  }, 180_000);

  test("npm run bench -- --cluster --scenario fleet --smoke: rows on both stacks, the cluster table with 3 masters, nothing lost", async () => {
    // A bound, not a target: ~35 s on a quiet machine (both stacks start at once), far more at load 20.
    const { code, stdout, context } = await runBench(["--cluster", "--scenario", "fleet", "--smoke", "--out", clusterOut], 170_000);
    expect({ code, context }).toEqual({ code: 0, context });
    expect(stdout[0]).toBe("DELIVERY: every receiver got every frame once, in order.");
    const report = stdout.join("\n");
    for (const system of ["tether", "tether-cluster"])
      expect(report).toMatch(new RegExp(`\\| fleet +\\| 100 agents heartbeat\\S* .*\\| ${system} +\\|.*\\| ok `));
    expect(report).toMatch(/Redis Cluster: 3 masters, no replicas, LOG_PARTITIONS=8/);
    for (const m of ["m0", "m1", "m2"])
      expect(report).toMatch(new RegExp(`^- ${m} \\(port \\d+, slots \\d+-\\d+\\): partitions( p\\d)+$`, "m"));
    expect(report).toMatch(
      /\| m0: CPU · µs\/frame · share \| m1: CPU · µs\/frame · share \| m2: CPU · µs\/frame · share \| max share \| spread target \|/,
    );
    expect(report).toMatch(/\| fleet +\| 100 agents heartbeat.*\| (PASS|MISS) \(≤ 45%\) +\|/);
    expect(report).toMatch(/What 2 cores can and cannot show|What \d+ cores can and cannot show/);

    const json = readJson(clusterOut);
    for (const results of [json.results, json.clusterResults ?? []]) {
      expect(results.map((r) => [r.scenario, r.error])).toEqual([["fleet", undefined]]);
      for (const row of results[0]!.rows) {
        expect(row.n).toBeGreaterThan(0);
        expect(row.delivery).toMatchObject({ missing: 0, duplicates: 0, reordered: 0, idOrderErrors: 0 });
      }
    }
    expect(json.clusterResults![0]!.rows.map((r) => r.system)).toEqual(["tether-cluster", "tether-cluster"]);
    // Every one of the 8 partitions on some master, each master with at least two (8 over 3 by slot range).
    const masters = json.cluster!.layout.masters;
    expect(masters.map((m) => m.name)).toEqual(["m0", "m1", "m2"]);
    expect(masters.flatMap((m) => m.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const m of masters) expect(m.partitions.length).toBeGreaterThanOrEqual(2);
    // Both fleet phases measured on every master: the heartbeats of 100 hosts reach all three.
    const phases = json.cluster!.phases.filter((p) => p.scenario === "fleet");
    expect(phases).toHaveLength(2);
    for (const p of phases) {
      expect(p.hosts).toBe(100);
      expect(p.frames).toBeGreaterThan(0);
      expect(p.masters.map((m) => m.name).sort()).toEqual(["m0", "m1", "m2"]);
      for (const m of p.masters) expect(m.seconds).toBeGreaterThan(0);
    }
  }, 180_000);
});
