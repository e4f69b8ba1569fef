/**
 * `run` (issue 14): one `POST /api/runs` over a fleet of agents split between hubs A and B,
 * each answering its command at once. Measured from just before the POST: when each agent got
 * its `command` (the last one = "every agent has its command") and when a browser on hub B got
 * the run's final `run_update` ("finished"), with max_parallel unset and 100.
 */
import WebSocket from "ws";
import { now } from "../lib/clock";
import { Generator, split, stopAll } from "../lib/generators";
import { Histogram, summarize } from "../lib/hist";
import type { Row } from "../lib/report";
import { sized, type Ctx, type Scenario } from "../lib/scenario";
import { apiCall } from "../../test/support/clients";

const GENERATORS = 2;

/** A browser on hub B that resolves when the run named later reaches a final `run_update`. */
async function runWatcher(ctx: Ctx): Promise<{ finished(runId: string, timeoutMs: number): Promise<number>; close(): void }> {
  const ws = new WebSocket(ctx.tether.hubB.wsUrl, {
    headers: { Cookie: ctx.tether.cookie, Origin: ctx.tether.origin },
    perMessageDeflate: false,
  });
  const done = new Map<string, number>();
  let waiting: { runId: string; resolve: (t: number) => void } | undefined;
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"hosts"')) return resolve();
      if (!text.startsWith('{"type":"run_update"')) return;
      const run = (JSON.parse(text) as { payload: { run: { id: string; status: string } } }).payload.run;
      if (run.status === "running") return;
      const t = now();
      done.set(run.id, t);
      if (waiting?.runId === run.id) waiting.resolve(t);
    });
  });
  return {
    finished(runId, timeoutMs) {
      const seen = done.get(runId);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`run ${runId}: no final run_update within ${timeoutMs} ms`)), timeoutMs);
        waiting = {
          runId,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        };
      });
    },
    close: () => ws.terminate(),
  };
}

export const run: Scenario = {
  name: "run",
  async run(ctx: Ctx) {
    const n = sized(ctx, 2000, 1000, 50);
    const tag = `run-${Date.now()}`;
    const hosts = await ctx.tether.createHosts(tag, n);
    const gens = await Generator.startMany("run-gen", GENERATORS);
    const watcher = await runWatcher(ctx);
    const rows: Row[] = [];
    const notes: string[] = [];
    try {
      // Half the fleet on each hub, so every run crosses both.
      const parts = split(hosts, GENERATORS);
      const urls = [ctx.tether.hubA.wsUrl, ctx.tether.hubB.wsUrl];
      ctx.log(`run: connecting ${n} agents`);
      const connected = await Promise.all(
        gens.map((g, i) =>
          g.call("fleetConnect", {
            urls: [urls[i % 2]!],
            tokens: parts[i]!.map((h) => h.token),
            names: parts[i]!.map((h) => h.name),
            wave: 100,
            reconnect: false,
            timings: false,
            labels: { bench: tag },
          }),
        ),
      );
      const registered = connected.reduce((a, c) => a + c.registered, 0);
      if (registered !== n) throw new Error(`run: only ${registered} of ${n} agents registered`);
      for (const maxParallel of [undefined, 100]) {
        const label = maxParallel === undefined ? "max_parallel unset" : `max_parallel ${maxParallel}`;
        const t0 = now();
        const res = await apiCall(ctx.tether.stack.api.url, ctx.tether.cookie, "POST", "/api/runs", {
          command: "true",
          target: { labels: { bench: tag } },
          ...(maxParallel !== undefined ? { max_parallel: maxParallel } : {}),
        });
        const accepted = now() - t0;
        if (res.status !== 202) throw new Error(`POST /api/runs: ${res.status} ${res.text.slice(0, 200)}`);
        const runId = res.json<{ run: { id: string } }>().run.id;
        const timeoutMs = sized(ctx, 120_000, 120_000, 30_000);
        const got = await Promise.all(parts.map((p, i) => gens[i]!.call("fleetCommands", { count: p.length, timeoutMs })));
        const finishedAt = await watcher.finished(runId, timeoutMs);
        const hist = new Histogram();
        for (const g of got) for (const at of g.at) hist.record(at - t0);
        const l = summarize(hist);
        const received = got.reduce((a, g) => a + g.at.length, 0);
        const duplicates = got.reduce((a, g) => a + g.duplicates, 0);
        const missing = Math.max(0, n - received);
        const delivery = { receivers: n, expectedEach: 1, missing, duplicates, reordered: 0, idOrderErrors: 0 };
        rows.push(
          {
            scenario: "run",
            case: `${n} hosts, ${label}: POST → each agent's command`,
            system: "tether",
            n: l.n,
            p50: l.p50,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            delivery,
            note: `every agent had it after ${l.max.toFixed(0)} ms; 202 after ${accepted.toFixed(0)} ms`,
          },
          {
            scenario: "run",
            case: `${n} hosts, ${label}: POST → run finished`,
            system: "tether",
            n: 1,
            max: finishedAt - t0,
            note: `final run_update at a browser on hub B after ${(finishedAt - t0).toFixed(0)} ms`,
          },
        );
        ctx.log(`run: ${label}: all commands in ${l.max.toFixed(0)} ms, finished in ${(finishedAt - t0).toFixed(0)} ms`);
      }
      notes.push(
        `${n} fleet agents, half on hub A and half on hub B, each answering \`true\` at once; the api signs and records every command`,
      );
      return { scenario: "run", rows, targets: [], notes };
    } finally {
      watcher.close();
      await Promise.all(gens.map((g) => g.call("fleetClose", {}).catch(() => undefined)));
      await stopAll(gens);
    }
  },
};
