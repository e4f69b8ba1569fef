/**
 * `idle`: 10,000 idle agent sockets on one fresh hub (pings every 5 s, each socket on its own
 * phase): the hub's RSS per socket, and `output` latency (1,000 frames/s through that hub)
 * without them and while their pings run. Then the same on a fresh bare relay node, by the same
 * method (its own output rig, the same count of idle agent sockets held against its agents'
 * node, RSS read at the same points), so issue 15 holds Tether's per-socket figure to it.
 */
import { Generator, split, stopAll } from "../lib/generators";
import { delay } from "../lib/clock";
import { ratioTarget, repeated } from "../lib/issue15";
import { openRig, type PhaseResult, type Rig } from "../lib/rig";
import { phaseRow, sized, target, type Ctx, type Scenario } from "../lib/scenario";
import type { Row } from "../lib/report";
import { rssKiB } from "../lib/tether";

const PING_INTERVAL_MS = 5000;
const RATE = 1000;
const GENERATORS = 4;

/** One system's idle measurement: output without and with the idle sockets, and the node's RSS around them. */
interface IdleFigures {
  without: PhaseResult;
  withIdle: PhaseResult;
  /** Idle sockets the node holds (registered agents for Tether). */
  held: number;
  rssBefore: number;
  /** KiB per socket after the sockets idled through the phase (the target's), and 2 s after the last connect. */
  perSocket: number;
  perSocketConnected: number;
  rssAfter: number;
}

/**
 * The method, the same for both systems: output through the node without idle sockets, RSS, `hold`
 * the sockets, RSS 2 s after the last connect (connection-time garbage still in the heap), output
 * again while they idle, RSS after that — the steady state a fleet lives in, which the target is about.
 */
async function measure(rig: Rig, pid: number, secs: number, hold: () => Promise<number>): Promise<IdleFigures> {
  await rig.phase("warm-up", 5000, 2000);
  const without = await rig.phase("without", RATE, RATE * secs);
  const rssBefore = rssKiB(pid);
  const held = await hold();
  await delay(2000);
  const rssConnected = rssKiB(pid);
  const withIdle = await rig.phase("with idle", RATE, RATE * secs);
  const rssAfter = rssKiB(pid);
  return {
    without,
    withIdle,
    held,
    rssBefore,
    rssAfter,
    perSocket: (rssAfter - rssBefore) / Math.max(1, held),
    perSocketConnected: (rssConnected - rssBefore) / Math.max(1, held),
  };
}

function rssRow(caseName: string, system: "tether" | "bare", n: number, f: IdleFigures): Row {
  return {
    scenario: "idle",
    case: caseName,
    system,
    n: f.held,
    note:
      `${f.perSocket.toFixed(2)} KiB/socket idling (RSS ${(f.rssBefore / 1024).toFixed(0)} → ${(f.rssAfter / 1024).toFixed(0)} MiB); ` +
      `${f.perSocketConnected.toFixed(2)} KiB 2 s after connecting`,
    delivery: { receivers: 1, expectedEach: n, missing: n - f.held, duplicates: 0, reordered: 0, idOrderErrors: 0 },
  };
}

async function tetherIdle(ctx: Ctx, n: number, secs: number): Promise<IdleFigures> {
  const hub = await ctx.tether.startHub({ PING_INTERVAL_MS: String(PING_INTERVAL_MS) });
  const hosts = await ctx.tether.createHosts(`idle-${Date.now()}`, n);
  const rig = await openRig("tether", ctx.tether, { receivers: 3, receiverProcs: 1, agentUrl: hub.wsUrl, pids: { hubIdle: hub.pid } });
  const gens: Generator[] = [];
  try {
    return await measure(rig, hub.pid, secs, async () => {
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
      return registered;
    });
  } finally {
    await rig.close();
    await Promise.all(gens.map((g) => g.call("fleetClose", {}).catch(() => undefined)));
    await stopAll(gens);
    // Let the hub finish its disconnect writes, so the next measurement does not measure them.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await ctx.tether.heldBy(hub)) > 0) await delay(200);
    await hub.stop();
  }
}

/** The bare relay's agents' node (a fresh pair, the rig's) holding `n` idle agent sockets. */
async function bareIdle(ctx: Ctx, n: number, secs: number): Promise<IdleFigures> {
  const rig = await openRig("bare", ctx.tether, { receivers: 3, receiverProcs: 1 });
  const gens: Generator[] = [];
  try {
    const node = rig.refNodes[0]!;
    return await measure(rig, node.pid, secs, async () => {
      gens.push(...(await Generator.startMany("idle-bare-gen", GENERATORS)));
      ctx.log(`idle: connecting ${n} sockets to the bare relay`);
      const counts = split(
        Array.from({ length: n }, (_, i) => i),
        GENERATORS,
      ).map((p) => p.length);
      const opened = await Promise.all(gens.map((g, i) => g.call("idleOpen", { url: node.url, count: counts[i]!, wave: 100 })));
      return opened.reduce((a, o) => a + o.opened, 0);
    });
  } finally {
    await Promise.all(gens.map((g) => g.call("idleClose", {}).catch(() => undefined)));
    await stopAll(gens);
    await rig.close();
  }
}

export const idle: Scenario = {
  name: "idle",
  async run(ctx: Ctx) {
    const n = sized(ctx, 10_000, 5000, 200);
    // Longer than a ping interval (but for smoke), so every socket is pinged during it.
    const secs = sized(ctx, 12, 6, 1);
    const t = await tetherIdle(ctx, n, secs);
    // Tether's rows stand on their own: a failed reference run is reported (and fails the run) beside them.
    let bareError: string | undefined;
    // Not on the cluster stack: the bare relay runs over the single Redis.
    const b = ctx.cluster
      ? undefined
      : await bareIdle(ctx, n, secs).catch((err: unknown) => {
          bareError = `bare relay: ${err instanceof Error ? err.message : String(err)}`;
          ctx.log(`idle: ${bareError}`);
          return undefined;
        });
    const ratio = t.withIdle.latency.p99 / t.without.latency.p99;
    return {
      scenario: "idle",
      rows: [
        phaseRow("idle", `output @${RATE}/s, no idle sockets`, t.without),
        phaseRow("idle", `output @${RATE}/s, ${t.held} idle sockets pinging`, t.withIdle),
        rssRow("hub RSS per idle agent socket", "tether", n, t),
        ...(b
          ? [
              // Named apart from Tether's: measured minutes later, not interleaved, so not a ratio row.
              phaseRow("idle", `output @${RATE}/s, no idle sockets (bare node)`, b.without),
              phaseRow("idle", `output @${RATE}/s, ${b.held} idle sockets (bare node, no pings)`, b.withIdle),
              rssRow("relay node RSS per idle agent socket", "bare", n, b),
            ]
          : []),
      ],
      targets: [
        target("idle RSS per agent socket", t.perSocket, "<=", 10, " KiB"),
        target(`output p99 with ${t.held} idle ÷ without`, ratio, "<=", 2, "×"),
      ],
      issue15: [
        ratioTarget({
          point: 4,
          name: `idle agent socket RSS at ${n.toLocaleString("en-US")} sockets ÷ bare`,
          tether: repeated([t.perSocket]),
          reference: b && repeated([b.perSocket]),
          against: "bare",
          goal: 1,
          unit: " KiB/socket",
        }),
      ],
      notes: [
        `fresh hub with PING_INTERVAL_MS=${PING_INTERVAL_MS}; output agent on it, browsers on hub B${n < 10_000 ? `; --${ctx.size}: ${n} sockets` : ""}`,
        ...(b
          ? [
              `then a fresh bare relay pair: output agent and ${n.toLocaleString("en-US")} idle \`?role=agent\` sockets on its first node, browsers on the second; RSS of that node, read at the same points`,
            ]
          : []),
      ],
      ...(bareError ? { error: bareError } : {}),
    };
  },
};
