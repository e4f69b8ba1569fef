/**
 * `npm run chaos -- --minutes N [--seed S] [--agents A] [--browsers B] [--out FILE]`
 *
 * Starts a whole deployment on 127.0.0.1 — a Redis primary with AOF, its replica and three
 * Sentinels; the api, two workers and three hubs (found through the Sentinels); nginx in front —
 * then a load: agents that run what they are sent and reconnect with backoff, browsers that resume
 * with `?after=`, a stream of dispatches. For N minutes it injects faults at times drawn from the
 * seed (faults.ts), one at a time, measuring how long the fleet takes to recover from each; then it
 * lets everything settle and checks (checker.ts) what every client recorded against what the
 * store holds. Prints a report; exits 1 on any violation (with the seed to replay), 2 on bad use.
 * Every process it starts is its own child, stopped by pid at the end.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createKeys, createRedis, createLogger, formatEventId, parseSentinels, type Logger } from "@tether/core";
import { startSentinelSet, type SentinelSet } from "../test/support/redis-sentinel";
import { startService, type ServiceKind, type ServiceProcess } from "../test/support/processes";
import { apiCall, login } from "../test/support/clients";
import { freePort } from "../test/support/ports";
import { startNginx, type NginxProcess } from "../test/e2e/ops-nginx";
import { ChaosAgent, ChaosBrowser } from "./clients";
import { checkBrowsers, checkCommands, checkHosts, checkRuns, TERMINAL, type LoggedEvent, type Violation } from "./checker";
import { FAULT_KINDS, planFaults, type FaultKind, type PlannedFault } from "./faults";
import { Random } from "./random";

const ROOT = path.resolve(__dirname, "..");
const OFFLINE_TIMEOUT_MS = 5000;
/** Longest a fault's recovery may take before it counts as a violation of its own. */
const RECOVERY_BOUND_MS = 60_000;

interface Options {
  minutes: number;
  seed: number;
  agents: number;
  browsers: number;
  out: string | undefined;
  /** Only these kinds (comma-separated), to chase one finding. */
  faults: FaultKind[] | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "2" },
      seed: { type: "string" },
      agents: { type: "string", default: "200" },
      browsers: { type: "string", default: "4" },
      out: { type: "string" },
      faults: { type: "string" },
    },
  });
  const num = (name: string, raw: string | undefined, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be a number in [${min}, ${max}], got ${raw}\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    minutes: num("minutes", values.minutes, 0.25, 600),
    seed: values.seed === undefined ? randomBytes(4).readUInt32BE(0) : num("seed", values.seed, 0, 2 ** 32 - 1),
    agents: Math.round(num("agents", values.agents, 1, 5000)),
    browsers: Math.round(num("browsers", values.browsers, 1, 50)),
    out: values.out,
    faults: values.faults === undefined ? undefined : kindsOf(values.faults),
  };
}

function kindsOf(list: string): FaultKind[] {
  const kinds = list.split(",").map((k) => k.trim());
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length || kinds.length === 0) {
    process.stderr.write(`--faults: unknown ${unknown.join(", ")}; known: ${FAULT_KINDS.join(", ")}\n`);
    process.exit(2);
  }
  return kinds as FaultKind[];
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The built JavaScript when `npm run build` made it (faster restarts), else the sources through tsx. */
function nodeArgs(kind: ServiceKind): readonly string[] | undefined {
  const built = path.join(ROOT, "services", kind, "dist", "main.js");
  return existsSync(built) ? ["--enable-source-maps", built] : undefined;
}

class Deployment {
  api!: ServiceProcess;
  hubs: ServiceProcess[] = [];
  workers: ServiceProcess[] = [];
  nginx!: NginxProcess;
  private readonly all = new Set<ServiceProcess>();

  constructor(
    readonly redis: SentinelSet,
    readonly env: Record<string, string>,
  ) {}

  async start(kind: ServiceKind, extra: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService(kind, { ...this.env, ...extra }, { readyTimeoutMs: 90_000, nodeArgs: nodeArgs(kind) });
    this.all.add(service);
    return service;
  }

  /** The same node again (same port and NODE_ID), after it exited. */
  restart(service: ServiceProcess): Promise<ServiceProcess> {
    return this.start(service.kind, { ...service.env });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all].map((s) => s.stop()));
    await this.nginx?.stop().catch(() => undefined);
    await this.redis.stop();
  }
}

interface FaultRecord {
  fault: PlannedFault;
  startedAt: number;
  /** ms from the fault's start until every agent was registered and every browser live again (0: none dropped). */
  recoveryMs: number | null;
  note: string;
}

async function main(): Promise<void> {
  const opts = options();
  const log = createLogger({ level: "warn", nodeId: "chaos", service: "chaos" });
  const random = new Random(opts.seed);
  const say = (line: string) => process.stdout.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
  const t0 = Date.now();
  say(`seed ${opts.seed}, ${opts.minutes} min, ${opts.agents} agents, ${opts.browsers} browsers`);

  const redis = await startSentinelSet({ appendonly: true, downAfterMs: 1000 });
  const [apiPort, nginxPort, nowhere, ...hubPorts] = await Promise.all([0, 1, 2, 3, 4, 5].map(() => freePort()));
  const origin = `http://127.0.0.1:${nginxPort}`;
  const prefix = `chaos${randomBytes(4).toString("hex")}`;
  const adminPassword = `pw-${randomBytes(8).toString("hex")}`;
  const env: Record<string, string> = {
    REDIS_URL: `redis://:${redis.dataPassword}@127.0.0.1:${nowhere}`,
    REDIS_SENTINELS: redis.sentinels,
    REDIS_SENTINEL_NAME: redis.name,
    REDIS_SENTINEL_PASSWORD: redis.sentinelPassword,
    REDIS_PREFIX: prefix,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    COMMAND_SIGNING_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ADMIN_USER: "admin",
    ADMIN_PASSWORD: adminPassword,
    ALLOWED_ORIGINS: origin,
    OFFLINE_TIMEOUT_MS: String(OFFLINE_TIMEOUT_MS),
    PING_INTERVAL_MS: "5000",
    MAX_SOCKETS_PER_SESSION: "1000",
    LOG_LEVEL: "warn",
  };
  const deployment = new Deployment(redis, env);
  const agents: ChaosAgent[] = [];
  const browsers: ChaosBrowser[] = [];
  let exitCode = 0;
  try {
    deployment.api = await deployment.start("api", { PORT: String(apiPort), NODE_ID: "api" });
    deployment.hubs = await Promise.all(hubPorts.map((port, i) => deployment.start("hub", { PORT: String(port), NODE_ID: `hub${i + 1}` })));
    deployment.workers = await Promise.all([1, 2].map((i) => deployment.start("worker", { NODE_ID: `worker${i}` })));
    deployment.nginx = await startNginx(nginxPort!, { hubs: hubPorts.map((p) => `127.0.0.1:${p}`), api: [`127.0.0.1:${apiPort}`] });
    say(
      `stack up: redis primary ${redis.primaryPort} + replica ${redis.replicaPort} + 3 sentinels, api, 3 hubs, 2 workers, nginx ${origin}`,
    );

    const cookie = await login(origin, "admin", adminPassword);
    const hosts: Array<{ id: string; name: string; token: string }> = [];
    for (let i = 0; i < opts.agents; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, opts.agents - i) }, async (_, j) => {
          const name = `chaos-${i + j}`;
          const res = await apiCall(origin, cookie, "POST", "/api/hosts", { name });
          if (res.status !== 201) throw new Error(`create host ${name}: ${res.status} ${res.text.slice(0, 200)}`);
          const body = res.json<{ host: { id: string }; token: string }>();
          return { id: body.host.id, name, token: body.token };
        }),
      );
      hosts.push(...batch);
    }
    for (const h of hosts) agents.push(new ChaosAgent(h.name, h.id, h.token, deployment.nginx.wsUrl, 2000));
    for (let b = 0; b < opts.browsers; b++)
      browsers.push(new ChaosBrowser(b, deployment.nginx.wsUrl, await login(origin, "admin", adminPassword), origin));
    for (const b of browsers) b.start();
    for (const a of agents) a.start();
    const allBack = () => agents.every((a) => a.connected) && browsers.every((b) => b.open && b.liveSince > 0);
    const waitAllBack = async (boundMs: number): Promise<number | null> => {
      const from = Date.now();
      while (!allBack()) {
        if (Date.now() - from > boundMs) return null;
        await delay(50);
      }
      return Date.now() - from;
    };
    const up = await waitAllBack(RECOVERY_BOUND_MS);
    if (up === null) throw new Error("the fleet never came online before the faults");
    say(`fleet online: ${agents.length} agents, ${browsers.length} browsers live`);

    // Load: a dispatch every 250 ms to a random host, through nginx.
    const accepted: Array<{ id: string; hostId: string }> = [];
    const refused = new Map<string, number>();
    let loading = true;
    const load = (async () => {
      while (loading) {
        const host = random.pick(hosts);
        const res = await apiCall(origin, cookie, "POST", `/api/hosts/${host.id}/commands`, { command: "true" }).catch(
          (err: Error) => ({ status: 0, text: err.message, json: () => ({}) as never }) as const,
        );
        if (res.status === 202) accepted.push({ id: res.json<{ command: { id: string } }>().command.id, hostId: host.id });
        else refused.set(String(res.status), (refused.get(String(res.status)) ?? 0) + 1);
        await delay(250);
      }
    })();

    // And a run over five random hosts (two at a time) every 4 s.
    const runIds: string[] = [];
    const runLoad = (async () => {
      while (loading) {
        const picked = new Set<string>();
        while (picked.size < Math.min(5, hosts.length)) picked.add(random.pick(hosts).id);
        const res = await apiCall(origin, cookie, "POST", "/api/runs", {
          command: "true",
          target: { host_ids: [...picked] },
          max_parallel: 2,
        }).catch((err: Error) => ({ status: 0, text: err.message, json: () => ({}) as never }) as const);
        if (res.status === 202) runIds.push(res.json<{ run: { id: string } }>().run.id);
        else refused.set(`${res.status} (run)`, (refused.get(`${res.status} (run)`) ?? 0) + 1);
        await delay(4000);
      }
    })();

    // Faults, one at a time, each undone and recovered from before the next.
    const plan = planFaults(random, {
      durationMs: opts.minutes * 60_000,
      hubs: 3,
      browsers: opts.browsers,
      meanGapMs: 12_000,
      kinds: opts.faults,
    });
    const records: FaultRecord[] = [];
    const phaseStart = Date.now();
    for (const fault of plan) {
      const wait = phaseStart + fault.at - Date.now();
      if (wait > 0) await delay(wait);
      if (Date.now() - phaseStart > opts.minutes * 60_000) break;
      const startedAt = Date.now();
      // Watch the clients from the fault's start: when the first one dropped, when all were back.
      let firstDown = 0;
      let lastUp = 0;
      let watching = true;
      const watch = (async () => {
        let before = true;
        while (watching) {
          const now = allBack();
          if (!now && !firstDown) firstDown = Date.now();
          if (now && !before) lastUp = Date.now();
          before = now;
          await delay(20);
        }
      })();
      const note = await inject(fault, deployment, agents, browsers, log);
      const back = await waitAllBack(RECOVERY_BOUND_MS);
      await delay(40);
      watching = false;
      await watch;
      const recoveryMs = back === null ? null : firstDown ? Math.max(lastUp, firstDown) - startedAt : 0;
      const dropped = firstDown ? `first client dropped after ${firstDown - startedAt} ms` : "no client dropped";
      const stuck =
        back === null
          ? [
              ...agents.filter((a) => !a.connected).map((a) => a.describe()),
              ...browsers.filter((b) => !(b.open && b.liveSince > 0)).map((b) => b.describe()),
            ]
          : [];
      if (stuck.length) {
        say(`not back: ${stuck.length}: ${stuck.slice(0, 5).join("; ")}`);
        for (const s of [deployment.api, ...deployment.hubs, ...deployment.workers]) {
          say(
            `${s.env.NODE_ID} (pid ${s.pid}${s.exitInfo ? `, exited ${JSON.stringify(s.exitInfo)}` : ""}) last lines:\n    ${s.lines().slice(-6).join("\n    ")}`,
          );
        }
        const stuckAgent = agents.find((a) => !a.connected);
        if (stuckAgent) {
          for (const hub of deployment.hubs) {
            say(`direct upgrade to ${hub.env.NODE_ID} as ${stuckAgent.name}: ${await stuckAgent.probe(hub.wsUrl)}`);
          }
          say(`through nginx as ${stuckAgent.name}: ${await stuckAgent.probe(deployment.nginx.wsUrl)}`);
        }
        const nginxLines = deployment.nginx.lines().filter((l) => !l.includes("no live upstreams"));
        say(`nginx's last errors other than "no live upstreams":\n    ${nginxLines.slice(-12).join("\n    ")}`);
      }
      records.push({
        fault,
        startedAt,
        recoveryMs,
        note: `${note}; ${dropped}${stuck.length ? `; not back: ${stuck.slice(0, 3).join("; ")}` : ""}`,
      });
      say(
        `${fault.kind} (${note}; ${dropped}): ${recoveryMs === null ? "NOT back within 60 s" : `all back ${recoveryMs} ms after the fault`}`,
      );
    }
    loading = false;
    await Promise.all([load, runLoad]);

    // Settle: everyone back, every accepted command finished, hosts past their offline checks.
    say("faults over; settling");
    const settled = await waitAllBack(RECOVERY_BOUND_MS);
    const violations: Violation[] = [];
    if (settled === null) violations.push({ rule: "no-recovery", detail: "the fleet was not back 60 s after the last fault" });
    const fiveHundreds = refused.get("500") ?? 0;
    if (fiveHundreds) violations.push({ rule: "server-error", detail: `${fiveHundreds} dispatch(es) answered 500` });
    for (const r of records) {
      if (r.recoveryMs === null)
        violations.push({ rule: "no-recovery", detail: `${r.fault.kind} at +${r.fault.at} ms: not back within 60 s` });
    }
    const statuses = new Map<string, string | undefined>();
    const commandDeadline = Date.now() + 60_000;
    let open = accepted.map((c) => c.id);
    while (open.length && Date.now() < commandDeadline) {
      const next: string[] = [];
      for (const id of open) {
        const res = await apiCall(origin, cookie, "GET", `/api/commands/${id}`).catch(() => undefined);
        const status = res?.status === 200 ? res.json<{ command: { status: string } }>().command.status : undefined;
        statuses.set(id, status);
        if (status === undefined || !TERMINAL.has(status)) next.push(id);
      }
      open = next;
      if (open.length) await delay(500);
    }
    type RunView = {
      run: { id: string; status: string; total: number; counts: Record<string, number> };
      commands: Array<{ id: string; host_id: string; status: string }>;
    };
    const runViews = new Map<string, RunView>();
    const runDeadline = Date.now() + 60_000;
    let openRuns = [...runIds];
    while (openRuns.length && Date.now() < runDeadline) {
      const next: string[] = [];
      for (const id of openRuns) {
        const res = await apiCall(origin, cookie, "GET", `/api/runs/${id}`).catch(() => undefined);
        if (res?.status === 200) runViews.set(id, res.json<RunView>());
        const status = runViews.get(id)?.run.status;
        if (status !== "finished" && status !== "cancelled") next.push(id);
      }
      openRuns = next;
      if (openRuns.length) await delay(500);
    }
    await delay(OFFLINE_TIMEOUT_MS + 1500);
    // A barrier event every browser must get: after it, each one's record is complete.
    const barrier = await apiCall(origin, cookie, "POST", "/api/hosts", { name: "chaos-barrier" });
    const barrierId = barrier.status === 201 ? barrier.json<{ host: { id: string } }>().host.id : "";
    const barrierDeadline = Date.now() + 30_000;
    let barrierEventId = "";
    const client = createRedis(
      {
        url: env.REDIS_URL!,
        sentinel: {
          sentinels: parseSentinels(redis.sentinels),
          name: redis.name,
          password: redis.sentinelPassword,
        },
      },
      "command",
      log,
    );
    const keys = createKeys(prefix);
    try {
      const epoch = (await client.get(keys.logEpoch)) ?? "";
      const raw = (await client.xrange(keys.log, "-", "+")) as Array<[string, string[]]>;
      const field = (fields: string[], name: string) => {
        for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
        return "";
      };
      for (const [sid, fields] of raw) {
        if (field(fields, "t") === "host_update" && field(fields, "p").includes(barrierId)) barrierEventId = formatEventId(sid, epoch);
      }
      while (barrierEventId && browsers.some((b) => b.lastId < barrierEventId) && Date.now() < barrierDeadline) await delay(50);
      const logged: LoggedEvent[] = raw.map(([sid, fields]) => ({ id: formatEventId(sid, epoch), forAdmin: field(fields, "x") === "" }));
      const browserVerdict = checkBrowsers(
        logged,
        browsers.map((b) => b.segments),
      );
      for (const v of browserVerdict.violations) violations.push(v);
      if (!barrierEventId || browsers.some((b) => b.lastId < barrierEventId)) {
        violations.push({ rule: "browser-gap", detail: "not every browser got the final barrier event" });
      }
      const ranOn = new Map<string, string[]>();
      for (const a of agents) for (const id of a.ran) ranOn.set(id, [...(ranOn.get(id) ?? []), a.hostId]);
      const runCommands = [...runViews.values()].flatMap((v) => v.commands.map((c) => ({ id: c.id, hostId: c.host_id, status: c.status })));
      const commandVerdict = checkCommands([...accepted.map((c) => ({ ...c, status: statuses.get(c.id) })), ...runCommands], ranOn);
      for (const v of commandVerdict.violations) violations.push(v);
      for (const id of runIds) if (!runViews.has(id)) violations.push({ rule: "run-counts", detail: `run ${id} could not be read` });
      const runVerdict = checkRuns([...runViews.values()].map((v) => ({ ...v.run, commands: v.commands })));
      for (const v of runVerdict.violations) violations.push(v);
      const hostsRes = await apiCall(origin, cookie, "GET", "/api/hosts");
      const finalHosts = hostsRes
        .json<{ hosts: Array<{ id: string; name: string; status: string }> }>()
        .hosts.filter((h) => h.id !== barrierId);
      const hostVerdict = checkHosts(finalHosts, new Set(agents.filter((a) => a.connected).map((a) => a.hostId)));
      for (const v of hostVerdict.violations) violations.push(v);
      for (const a of agents)
        if (a.finalClose) violations.push({ rule: "client-shut-out", detail: `agent ${a.name} was closed ${a.finalClose}` });
      for (const b of browsers)
        if (b.finalClose) violations.push({ rule: "client-shut-out", detail: `browser ${b.index} was closed ${b.finalClose}` });

      const redelivered = agents.reduce((n, a) => n + [...a.delivered.values()].filter((c) => c > 1).length, 0);
      const report = [
        `chaos report — seed ${opts.seed}, ${opts.minutes} min, ${agents.length} agents, ${browsers.length} browsers`,
        "",
        "faults (offset from the fault phase's start; recovery = from the fault until every agent is registered and every browser live again):",
        ...records.map(
          (r) =>
            `  +${((r.startedAt - phaseStart) / 1000).toFixed(1).padStart(6)} s  ${r.fault.kind.padEnd(15)} ${r.recoveryMs === null ? "NOT RECOVERED" : `${r.recoveryMs} ms`.padStart(8)}  ${r.note}`,
        ),
        "",
        `events checked: ${browserVerdict.checked} (log of ${logged.length}; ${browserVerdict.resyncs} explicit resyncs; ${browsers.reduce((n, b) => n + b.segments.length, 0)} browser segments)`,
        `commands: ${accepted.length} accepted, ${[...refused.entries()].map(([s, n]) => `${n} refused with ${s}`).join(", ") || "none refused"} (502: nginx with the one api down); ${redelivered} redelivered after a cut (answered again, not run again)`,
        `commands by final status: ${JSON.stringify(countBy([...statuses.values()].map((s) => s ?? "unknown")))}`,
        `runs: ${runVerdict.checked} checked (${runCommands.length} commands), by status ${JSON.stringify(countBy([...runViews.values()].map((v) => v.run.status)))}`,
        `hosts checked: ${hostVerdict.checked}`,
        "",
        violations.length === 0
          ? "violations: none"
          : `violations: ${violations.length} (replay with --seed ${opts.seed}), by rule ${JSON.stringify(countBy(violations.map((v) => v.rule)))}\n${[
              ...new Set(violations.map((v) => v.rule)),
            ]
              .flatMap((rule) => violations.filter((v) => v.rule === rule).slice(0, 8))
              .map((v) => `  [${v.rule}] ${v.detail}`)
              .join("\n")}`,
      ].join("\n");
      process.stdout.write(`\n${report}\n`);
      if (opts.out) writeFileSync(opts.out, `${report}\n`);
      if (violations.length) exitCode = 1;
    } finally {
      client.disconnect();
    }
  } finally {
    for (const a of agents) a.stop();
    for (const b of browsers) b.stop();
    await deployment.stop();
  }
  process.exit(exitCode);
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Injects one fault and undoes it (restart, SIGCONT, resume); returns a short note. */
async function inject(fault: PlannedFault, d: Deployment, agents: ChaosAgent[], browsers: ChaosBrowser[], log: Logger): Promise<string> {
  switch (fault.kind) {
    case "hub-kill": {
      const hub = d.hubs[fault.target]!;
      await hub.kill9();
      await delay(fault.holdMs);
      d.hubs[fault.target] = await d.restart(hub);
      return `${hub.env.NODE_ID}, down ${fault.holdMs} ms`;
    }
    case "hub-drain": {
      const hub = d.hubs[fault.target]!;
      await hub.kill("SIGTERM", 60_000);
      d.hubs[fault.target] = await d.restart(hub);
      return `${hub.env.NODE_ID}`;
    }
    case "hub-freeze": {
      const hub = d.hubs[fault.target]!;
      process.kill(hub.pid, "SIGSTOP");
      await delay(fault.holdMs);
      process.kill(hub.pid, "SIGCONT");
      return `${hub.env.NODE_ID}, ${fault.holdMs} ms`;
    }
    case "worker-kill": {
      const i = fault.holdMs % d.workers.length;
      const worker = d.workers[i]!;
      await worker.kill9();
      await delay(fault.holdMs);
      d.workers[i] = await d.restart(worker);
      return `${worker.env.NODE_ID}, down ${fault.holdMs} ms`;
    }
    case "api-kill": {
      await d.api.kill9();
      await delay(fault.holdMs);
      d.api = await d.restart(d.api);
      return `down ${fault.holdMs} ms`;
    }
    case "redis-failover": {
      const killed = await d.redis.killCurrentPrimary();
      const from = Date.now();
      while ((await d.redis.primaryAddress().catch(() => ({ port: killed }))).port === killed) {
        if (Date.now() - from > 30_000) {
          log.warn("the Sentinels did not promote a replica within 30 s");
          break;
        }
        await delay(100);
      }
      const promotedMs = Date.now() - from;
      await delay(fault.holdMs);
      await d.redis.restartNode(killed);
      return `primary ${killed} killed, replica promoted after ${promotedMs} ms`;
    }
    case "slow-browser": {
      await browsers[fault.target]!.stall(fault.holdMs);
      return `browser ${fault.target}, ${fault.holdMs} ms`;
    }
    case "agent-burst": {
      const n = Math.min(500, agents.length);
      for (const a of agents.slice(0, n)) a.cut();
      return `${n} agents cut`;
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
