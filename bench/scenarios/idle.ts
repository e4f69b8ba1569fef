/**
 * `idle`: 10,000 idle agent sockets on one fresh hub (pings every 5 s, each socket on its own
 * phase): the hub's RSS per socket, and `output` latency (1,000 frames/s through that hub)
 * without them and while their pings run.
 */
import { Generator, split, stopAll } from "../lib/generators";
import { openRig } from "../lib/rig";
import { phaseRow, sized, target, type Ctx, type Scenario } from "../lib/scenario";
import { rssKiB } from "../lib/tether";

const PING_INTERVAL_MS = 5000;
const RATE = 1000;
const GENERATORS = 4;

export const idle: Scenario = {
  name: "idle",
  async run(ctx: Ctx) {
    const n = sized(ctx, 10_000, 5000, 200);
    // Longer than a ping interval (but for smoke), so every socket is pinged during it.
    const secs = sized(ctx, 12, 6, 1);
    const hub = await ctx.tether.startHub({ PING_INTERVAL_MS: String(PING_INTERVAL_MS) });
    const hosts = await ctx.tether.createHosts(`idle-${Date.now()}`, n);
    const rig = await openRig("tether", ctx.tether, { receivers: 3, receiverProcs: 1, agentUrl: hub.wsUrl, pids: { hubIdle: hub.pid } });
    const gens: Generator[] = [];
    try {
      await rig.phase("warm-up", 5000, 2000);
      const without = await rig.phase("without", RATE, RATE * secs);
      const rssBefore = rssKiB(hub.pid);
      gens.push(...(await Generator.startMany("idle-gen", GENERATORS)));
      const parts = split(hosts, GENERATORS);
      ctx.log(`idle: connecting ${n} agents`);
      const t0 = Date.now();
      const connected = await Promise.all(
        gens.map((g, i) =>
          g.call("fleetConnect", {
            urls: [hub.wsUrl],
            tokens: parts[i]!.map((h) => h.token),
            names: parts[i]!.map((h) => h.name),
            wave: 100,
            reconnect: false,
            timings: false,
          }),
        ),
      );
      const registered = connected.reduce((a, c) => a + c.registered, 0);
      ctx.log(`idle: ${registered} registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // Two readings: 2 s after the last connect (connection-time garbage still in the heap), and
      // after the phase below, when the sockets have idled through more than a ping interval —
      // the steady state a fleet lives in, which the target is about.
      await new Promise((r) => setTimeout(r, 2000));
      const rssConnected = rssKiB(hub.pid);
      const withIdle = await rig.phase("with idle", RATE, RATE * secs);
      const rssAfter = rssKiB(hub.pid);
      const perSocket = (rssAfter - rssBefore) / Math.max(1, registered);
      const perSocketConnected = (rssConnected - rssBefore) / Math.max(1, registered);
      const ratio = withIdle.latency.p99 / without.latency.p99;
      return {
        scenario: "idle",
        rows: [
          phaseRow("idle", `output @${RATE}/s, no idle sockets`, without),
          phaseRow("idle", `output @${RATE}/s, ${registered} idle sockets pinging`, withIdle),
          {
            scenario: "idle",
            case: "hub RSS per idle agent socket",
            system: "tether",
            n: registered,
            note:
              `${perSocket.toFixed(2)} KiB/socket idling (RSS ${(rssBefore / 1024).toFixed(0)} → ${(rssAfter / 1024).toFixed(0)} MiB); ` +
              `${perSocketConnected.toFixed(2)} KiB 2 s after connecting`,
            delivery: { receivers: 1, expectedEach: n, missing: n - registered, duplicates: 0, reordered: 0, idOrderErrors: 0 },
          },
        ],
        targets: [
          target("idle RSS per agent socket", perSocket, "<=", 10, " KiB"),
          target(`output p99 with ${registered} idle ÷ without`, ratio, "<=", 2, "×"),
        ],
        notes: [
          `fresh hub with PING_INTERVAL_MS=${PING_INTERVAL_MS}; output agent on it, browsers on hub B${n < 10_000 ? `; --${ctx.size}: ${n} sockets` : ""}`,
        ],
      };
    } finally {
      await rig.close();
      await Promise.all(gens.map((g) => g.call("fleetClose", {}).catch(() => undefined)));
      await stopAll(gens);
      // Let the hub finish its disconnect writes, so the next scenario does not measure them.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await ctx.tether.heldBy(hub)) > 0) await new Promise((r) => setTimeout(r, 200));
      await hub.stop();
    }
  },
};
