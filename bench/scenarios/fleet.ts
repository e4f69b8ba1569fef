/**
 * `fleet` (issue 16 point 7): 2,000 hosts, spread over the partitions by their ids, go online
 * (agents on hub A, in waves) and then heartbeat every second, each heartbeat a `host_update`
 * at a few browsers on hub B. Both phases write every host's partition, so on the cluster stack
 * (8 partitions over 3 masters) they show how the load spreads over the masters: Redis CPU per
 * master and per frame, and the largest master's share (target: ≤ 45%).
 */
import { delay } from "../lib/clock";
import { Generator, split, stopAll } from "../lib/generators";
import { cpuSince, markCpu, type Pids } from "../lib/cpu";
import { checkDelivery } from "../lib/delivery";
import { Histogram, summarize } from "../lib/hist";
import { MAX_MASTER_SHARE, hostsPerMaster, shares } from "../lib/redis-cpu";
import { sized, target, type Ctx, type Scenario } from "../lib/scenario";
import { HEARTBEAT_GROUP } from "../gen/receivers";

const PERIOD_MS = 1000;
const BROWSERS = 4;

export const fleet: Scenario = {
  name: "fleet",
  async run(ctx: Ctx) {
    const n = sized(ctx, 2000, 2000, 100);
    const seconds = sized(ctx, 20, 8, 2);
    const hosts = await ctx.tether.createHosts(`fleet-${Date.now()}`, n);
    const perMaster = hostsPerMaster(
      hosts.map((h) => h.id),
      ctx.tether.partitionMasters,
    );
    const agentGens = await Generator.startMany("fleet-agents", 2);
    const browserGens = await Generator.startMany("fleet-browsers", 1);
    try {
      await browserGens[0]!.call("openReceivers", {
        system: "tether",
        url: ctx.tether.hubB.wsUrl,
        count: BROWSERS,
        cookie: ctx.tether.cookie,
        origin: ctx.tether.origin,
        idOrder: ctx.tether.idOrder,
      });
      const pids: Pids = { ...ctx.tether.pids() };
      agentGens.forEach((g, i) => (pids[`gen-agents${i + 1}`] = g.pid));
      browserGens.forEach((g, i) => (pids[`gen-browsers${i + 1}`] = g.pid));
      const parts = split(hosts, agentGens.length);
      ctx.log(`fleet: connecting ${n} agents`);
      let redisEnd = await ctx.tether.redisCpu.start();
      let cpuStart = markCpu(pids);
      const t0 = Date.now();
      const connected = await Promise.all(
        agentGens.map((g, i) =>
          g.call("fleetConnect", {
            urls: [ctx.tether.hubA.wsUrl],
            tokens: parts[i]!.map((h) => h.token),
            names: parts[i]!.map((h) => h.name),
            wave: 100,
            reconnect: false,
            timings: false,
          }),
        ),
      );
      const registered = connected.reduce((a, c) => a + c.registered, 0);
      const connectMs = Date.now() - t0;
      const connectCpu = cpuSince(cpuStart, pids);
      const connectRedis = await redisEnd(registered, n);

      ctx.log(`fleet: ${registered} online in ${(connectMs / 1000).toFixed(1)} s; heartbeats every ${PERIOD_MS} ms for ${seconds} s`);
      await browserGens[0]!.call("expectStreams", { group: HEARTBEAT_GROUP, keys: hosts.map((h) => h.id) });
      redisEnd = await ctx.tether.redisCpu.start();
      cpuStart = markCpu(pids);
      const sent = (
        await Promise.all(agentGens.map((g) => g.call("fleetHeartbeat", { periodMs: PERIOD_MS, durationMs: seconds * 1000 })))
      ).reduce((a, r) => a + r.sent, 0);
      await browserGens[0]!.call("waitReceived", { group: HEARTBEAT_GROUP, total: sent, timeoutMs: 20_000 });
      const hbCpu = cpuSince(cpuStart, pids);
      const hbRedis = await redisEnd(sent, n);
      const got = await browserGens[0]!.call("collect", { group: HEARTBEAT_GROUP });
      const l = summarize(Histogram.from(got.hist));
      const spread = Object.entries(perMaster)
        .map(([m, c]) => `${m} ${c}`)
        .join(", ");
      const hbCase = `${n} agents heartbeat/${PERIOD_MS / 1000} s → ${BROWSERS} browsers`;
      const share = ctx.cluster ? shares(hbRedis).max : undefined;
      return {
        scenario: "fleet",
        rows: [
          {
            scenario: "fleet",
            case: `${n} agents go online (waves of 100)`,
            system: "tether",
            n: registered,
            max: connectMs,
            rate: (registered * 1000) / Math.max(1, connectMs),
            delivery: { receivers: 1, expectedEach: n, missing: n - registered, duplicates: 0, reordered: 0, idOrderErrors: 0 },
            cpu: connectCpu,
            redis: connectRedis,
            note: `all online in ${connectMs} ms`,
          },
          {
            scenario: "fleet",
            case: hbCase,
            system: "tether",
            n: l.n,
            p50: l.p50,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            rate: sent / seconds,
            delivery: checkDelivery(sent, got.receivers),
            cpu: hbCpu,
            redis: hbRedis,
            note: `heartbeats/s; heartbeat → host_update, ${seconds} s`,
          },
        ],
        targets: ctx.cluster
          ? [
              target(
                `fleet: busiest master's share of Redis CPU, ${n} hosts heartbeating over ${ctx.tether.partitionMasters.length} partitions`,
                share === undefined ? undefined : share * 100,
                "<=",
                MAX_MASTER_SHARE * 100,
                "%",
              ),
            ]
          : [],
        notes: [
          `hosts per Redis server (by partition): ${spread}${ctx.tether.partitionMasters.length > 1 ? `; partitions: ${ctx.tether.partitionMasters.map((m, p) => `p${p}→${m}`).join(" ")}` : ""}`,
          ...(n < 2000 ? [`--${ctx.size}: ${n} agents instead of 2,000`] : []),
        ],
      };
    } finally {
      await Promise.all(agentGens.map((g) => g.call("fleetClose", {}).catch(() => undefined)));
      await stopAll([...agentGens, ...browserGens]);
      // Let hub A finish its disconnect writes, so the next scenario does not measure them.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await ctx.tether.heldBy(ctx.tether.hubA)) > 0) await delay(200);
    }
  },
};
