/**
 * `storm`: 5,000 agents on hub A; hub A is killed (kill -9); they reconnect to hub B with the
 * reference agent's backoff (exponential, full jitter, base 500 ms). Measured: time from the
 * kill until every agent is registered again, and hub B's /healthz latency throughout.
 */
import http from "node:http";
import { request } from "../../test/support/http";
import { Generator, split, stopAll } from "../lib/generators";
import { Histogram, summarize } from "../lib/hist";
import { now } from "../lib/clock";
import { describeListenDelta, listenCounters } from "../lib/netstat";
import { cpuSince, markCpu, type Pids } from "../lib/cpu";
import { sized, target, type Ctx, type Scenario } from "../lib/scenario";

const GENERATORS = 4;

export const storm: Scenario = {
  name: "storm",
  async run(ctx: Ctx) {
    const n = sized(ctx, 5000, 3000, 100);
    const { hubA, hubB } = ctx.tether;
    const hosts = await ctx.tether.createHosts(`storm-${Date.now()}`, n);
    const gens = await Generator.startMany("storm-gen", GENERATORS);
    try {
      const parts = split(hosts, GENERATORS);
      ctx.log(`storm: connecting ${n} agents to hub A`);
      await Promise.all(
        gens.map((g, i) =>
          g.call("fleetConnect", {
            urls: [hubA.wsUrl, hubB.wsUrl],
            tokens: parts[i]!.map((h) => h.token),
            names: parts[i]!.map((h) => h.name),
            wave: 100,
            reconnect: true,
            timings: false,
          }),
        ),
      );
      // Three probes of hub B, each every 10 ms: a new TCP connection per request on the main
      // port (as many load balancers check), which queues behind the agents' connections in its
      // accept queue; the same on the ops listener (OPS_PORT), a server socket of its own that no
      // agent dials — what issue 15 holds to 1 s; and one kept-alive connection to the main port,
      // which sees only how busy the hub's event loop is.
      let probing = true;
      const fresh = probeLoop(() => request(`${hubB.url}/healthz`, { timeoutMs: 5000 }).then((res) => res.status));
      const ops = probeLoop(() => request(`${hubB.opsUrl}/healthz`, { timeoutMs: 5000 }).then((res) => res.status));
      const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const alive = probeLoop(() => getStatus(`${hubB.url}/healthz`, keptAlive));
      function probeLoop(get: () => Promise<number>): Promise<{ health: Histogram; failed: number }> {
        return (async () => {
          const health = new Histogram();
          let failed = 0;
          while (probing) {
            const t = now();
            if ((await get().catch(() => 0)) !== 200) failed += 1;
            health.record(now() - t);
            await new Promise((r) => setTimeout(r, 10));
          }
          return { health, failed };
        })();
      }
      ctx.log("storm: kill -9 hub A");
      const pids: Pids = {
        hubB: hubB.pid,
        ...ctx.tether.redisPids(),
        worker: ctx.tether.stack.worker.pid,
      };
      gens.forEach((g, i) => (pids[`gen-agents${i + 1}`] = g.pid));
      if (ctx.profile) await ctx.tether.toggleProfile();
      const redisEnd = await ctx.tether.redisCpu.start();
      const cpuStart = markCpu(pids);
      const listen = listenCounters();
      const cutAt = now();
      await hubA.kill9();
      const back = await Promise.all(gens.map((g) => g.call("fleetWaitRegistered", { since: cutAt, timeoutMs: 30_000 })));
      const cpu = cpuSince(cpuStart, pids);
      // Per frame = per agent registered again (its connect write, and the sweep of hub A's hosts).
      const registeredAgain = back.reduce((a, b) => a + b.registered, 0);
      const redis = await redisEnd(registeredAgain, n);
      const listenDelta = describeListenDelta(listen);
      if (ctx.profile) await ctx.tether.toggleProfile(); // hub B's profile covers the storm
      probing = false;
      const [probe, opsProbe, aliveProbe] = await Promise.all([fresh, ops, alive]);
      keptAlive.destroy();
      const failedProbes = probe.failed;
      const registered = back.reduce((a, b) => a + b.registered, 0);
      const attempts = back.reduce((a, b) => a + b.attempts, 0) - n;
      const recoveryMs = Math.max(...back.map((b) => b.last)) - cutAt;
      const complete = back.every((b) => b.complete);
      const h = summarize(probe.health);
      const ka = summarize(aliveProbe.health);
      const o = summarize(opsProbe.health);
      const responsive = failedProbes === 0 && h.max <= 1000;
      return {
        scenario: "storm",
        rows: [
          {
            scenario: "storm",
            case: `${n} agents: hub A kill -9 → all registered on hub B`,
            system: "tether",
            n: registered,
            max: complete ? recoveryMs : undefined,
            note: `${complete ? `all back in ${recoveryMs.toFixed(0)} ms` : `only ${registered}/${n} back in 30 s`}, ${attempts} dials`,
            delivery: { receivers: 1, expectedEach: n, missing: n - registered, duplicates: 0, reordered: 0, idOrderErrors: 0 },
            cpu,
            redis,
          },
          {
            scenario: "storm",
            case: "hub B GET /healthz during the storm",
            system: "tether",
            n: h.n,
            p50: h.p50,
            p99: h.p99,
            p999: h.p999,
            max: h.max,
            note: `a new connection each${failedProbes ? `; ${failedProbes} probes failed` : ""}`,
          },
          {
            scenario: "storm",
            case: "hub B GET /healthz on the ops listener during the storm",
            system: "tether",
            n: o.n,
            p50: o.p50,
            p99: o.p99,
            p999: o.p999,
            max: o.max,
            note: `OPS_PORT, a new connection each${opsProbe.failed ? `; ${opsProbe.failed} probes failed` : ""}`,
          },
          {
            scenario: "storm",
            case: "hub B GET /healthz during the storm, kept-alive",
            system: "tether",
            n: ka.n,
            p50: ka.p50,
            p99: ka.p99,
            p999: ka.p999,
            max: ka.max,
            note: `one kept-alive connection${aliveProbe.failed ? `; ${aliveProbe.failed} probes failed` : ""}`,
          },
        ],
        targets: [
          target(`storm: all ${n} back online`, complete ? recoveryMs : Number.POSITIVE_INFINITY, "<=", 5000, " ms"),
          {
            name: "storm: hub B responsive (every /healthz ≤ 1 s)",
            actual: `max ${h.max.toFixed(0)} ms, ${failedProbes} failed`,
            goal: "all answered ≤ 1 s",
            pass: responsive,
          },
        ],
        issue15: [
          {
            point: 5,
            name: "storm: hub B /healthz on the ops listener, a new connection each, every one ≤ 1 s",
            actual: `max ${o.max.toFixed(0)} ms, ${opsProbe.failed} failed`,
            goal: "all answered ≤ 1 s",
            pass: o.n > 0 && opsProbe.failed === 0 && o.max <= 1000,
            tether: `${o.n} probes, p99 ${o.p99.toFixed(1)} ms`,
            reference: `main port, new connection each: max ${h.max.toFixed(0)} ms, ${failedProbes} failed`,
          },
        ],
        notes: [
          `kernel TCP counters over the storm (whole network namespace): ${listenDelta}; SYNs dropped on a full accept queue are retransmitted after 1 s, 3 s, 7 s`,
          `backoff base 500 ms, full jitter${n < 5000 ? `; --${ctx.size}: ${n} agents` : ""}`,
        ],
      };
    } finally {
      await Promise.all(gens.map((g) => g.call("fleetClose", {}).catch(() => undefined)));
      await stopAll(gens);
    }
  },
};

/** GET `url` through `agent`; resolves with the status (the body is drained). */
function getStatus(url: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
