/**
 * `online`: an agent sends `register` on hub A → a browser on hub B gets the `host_update`
 * (online, with that hostname). Agents connect in small waves so this measures latency, not a
 * storm. Also reported: dial → `registered` at the agent (upgrade, auth, presence write).
 */
import { Generator, stopAll } from "../lib/generators";
import { Histogram, summarize } from "../lib/hist";
import { sized, target, type Ctx, type Scenario } from "../lib/scenario";

const WAVE = 5;

export const online: Scenario = {
  name: "online",
  async run(ctx: Ctx) {
    const n = sized(ctx, 300, 300, 30);
    const hosts = await ctx.tether.createHosts(`online-${Date.now()}`, n);
    const gens = await Generator.startMany("online-gen", 2);
    const [browsers, agents] = gens as [Generator, Generator];
    try {
      await browsers.call("openReceivers", {
        system: "tether",
        url: ctx.tether.hubB.wsUrl,
        count: 1,
        cookie: ctx.tether.cookie,
        origin: ctx.tether.origin,
        idOrder: ctx.tether.idOrder,
      });
      const names = hosts.map((h) => h.name);
      const redisEnd = await ctx.tether.redisCpu.start();
      const { timings, failed } = await agents.call("fleetConnect", {
        urls: [ctx.tether.hubA.wsUrl],
        tokens: hosts.map((h) => h.token),
        names,
        wave: WAVE,
        reconnect: false,
        timings: true,
      });
      const { seenAt } = await browsers.call("onlineSeen", { names, timeoutMs: 10_000 });
      const redis = await redisEnd(n - failed, n);
      const online = new Histogram();
      const registered = new Histogram();
      for (const t of timings) {
        const seen = seenAt[t.name];
        if (seen !== undefined && t.regSentAt > 0) online.record(seen - t.regSentAt);
        if (t.registeredAt > 0) registered.record(t.registeredAt - t.dialAt);
      }
      const idErrors = (await browsers.call("collect", { group: "-" })).receivers[0]?.idOrderErrors ?? 0;
      const missing = n - online.count;
      const lo = summarize(online);
      const lr = summarize(registered);
      return {
        scenario: "online",
        rows: [
          {
            scenario: "online",
            case: "register → host_update (other hub)",
            system: "tether",
            n: lo.n,
            p50: lo.p50,
            p99: lo.p99,
            p999: lo.p999,
            max: lo.max,
            delivery: { receivers: 1, expectedEach: n, missing, duplicates: 0, reordered: 0, idOrderErrors: idErrors },
            redis,
            note: `waves of ${WAVE}${failed ? `, ${failed} agents failed to register` : ""}`,
          },
          {
            scenario: "online",
            case: "dial → registered (agent)",
            system: "tether",
            n: lr.n,
            p50: lr.p50,
            p99: lr.p99,
            p999: lr.p999,
            max: lr.max,
          },
        ],
        targets: [target("online p99", lo.p99, "<=", 20, " ms")],
        notes: [],
      };
    } finally {
      await agents.call("fleetClose", {}).catch(() => undefined);
      await stopAll(gens);
    }
  },
};
