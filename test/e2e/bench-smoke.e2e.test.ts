/**
 * Issue 8: the benchmark cannot rot. A tiny `output` run (Tether, bare relay and Socket.IO,
 * every phase) through the real CLI: its own Redis, api, worker, two hubs and generator
 * processes; the report leads with the delivery verdict and the JSON holds every system's row.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readLines, spawnOwned } from "../support/children";
import { withTimeout } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");

interface BenchJson {
  results: Array<{
    scenario: string;
    error?: string;
    rows: Array<{ case: string; system: string; n: number; delivery?: { missing: number; duplicates: number; reordered: number } }>;
  }>;
}

describe("bench smoke", () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(os.tmpdir(), "tether-bench-"));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

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
});
