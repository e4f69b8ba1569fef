/**
 * Issue 14 / CONTRACT §6: runs over real agents' sockets on two hub nodes, with the api, hubs and
 * worker as child processes: the max_parallel window (checked from the log), each command signed
 * for its own host, stop_on_failure, cancel, an offline host's command waiting queued, teams
 * (who may create, see and hear of a run), MAX_RUN_HOSTS, `npm run rebuild` mid-run, and a
 * `kill -9` of the worker and of a hub mid-run that loses nothing and starts nothing twice.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { Command, LoggedEvent, Run } from "@tether/protocol";
import { startService, startStack, type Stack } from "../support/processes";
import { apiCall, connectBrowser, createHost, login, type BrowserSocket } from "../support/clients";
import { scriptedAgent, Starts, type ScriptedAgent } from "./run-agents";

const ROOT = path.resolve(__dirname, "../..");
let stack: Stack;
let cookie: string;
let apiUrl: string;
let adminId: string;

beforeAll(async () => {
  stack = await startStack({ hubs: 2, env: { SWEEP_INTERVAL_MS: "300", JOB_LOCK_MS: "1000", MAX_RUN_HOSTS: "30" } });
  apiUrl = stack.api.url;
  cookie = await login(apiUrl, stack.admin.username, stack.admin.password);
  adminId = (await call("GET", "/api/session")).json<{ user: { id: string } }>().user.id;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

function call(method: string, path: string, body?: unknown, as = cookie) {
  return apiCall(apiUrl, as, method, path, body);
}

/** `n` agents named `prefix-i` (in `team` when given), alternating between the two hubs. */
async function agents(
  prefix: string,
  n: number,
  opts: { exit?: (name: string) => number; hub?: number; starts?: Starts; team?: string } = {},
): Promise<ScriptedAgent[]> {
  const out: ScriptedAgent[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call("POST", "/api/hosts", { name: `${prefix}-${i}`, ...(opts.team ? { team_id: opts.team } : {}) });
    expect(res.status).toBe(201);
    const { token } = res.json<{ token: string }>();
    const hub = stack.hubs[opts.hub ?? i % 2]!;
    out.push(await scriptedAgent(hub.wsUrl, token, `${prefix}-${i}`, { exitCode: opts.exit, starts: opts.starts }));
  }
  return out;
}

async function startRun(body: Record<string, unknown>, as = cookie): Promise<Run> {
  const res = await call("POST", "/api/runs", body, as);
  expect(res.status).toBe(202);
  return res.json<{ run: Run }>().run;
}

/** The run's final `run_update`, as a browser on hub 2 hears it (awaited, no polling). */
function finalUpdate(browser: BrowserSocket, runId: string, timeoutMs = 30_000) {
  return browser.next("run_update", (f) => f.payload.run.id === runId && f.payload.run.status !== "running", timeoutMs);
}

async function watcher(as = cookie): Promise<BrowserSocket> {
  return connectBrowser(stack.hubs[1]!.wsUrl, as, { origin: stack.hubs[1]!.url });
}

async function runAndCommands(id: string): Promise<{ run: Run; commands: Command[] }> {
  const res = await call("GET", `/api/runs/${id}`);
  expect(res.status).toBe(200);
  return res.json<{ run: Run; commands: Command[] }>();
}

/** Every event of the log (oldest first), as the admin reads it. */
async function allEvents(): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = (await call("GET", `/api/events?limit=10000${after ? `&after=${after}` : ""}`)).json<{ events: LoggedEvent[] }>().events;
    out.push(...page);
    if (page.length < 10000) return out;
    after = page.at(-1)!.id;
  }
}

/** From the log: starts per command of the run, and the most that were running at once. */
function runHistory(events: LoggedEvent[], runId: string) {
  const ofRun = new Set<string>();
  const starts = new Map<string, number>();
  const running = new Set<string>();
  let maxRunning = 0;
  const updates: LoggedEvent[] = [];
  for (const e of events) {
    if (e.type === "command_queued" && e.payload.command.run_id === runId) ofRun.add(e.payload.command.id);
    if (e.type === "command_started" && ofRun.has(e.payload.command.id)) {
      starts.set(e.payload.command.id, (starts.get(e.payload.command.id) ?? 0) + 1);
      running.add(e.payload.command.id);
      maxRunning = Math.max(maxRunning, running.size);
    }
    if (e.type === "command_finished" && ofRun.has(e.payload.command_id)) running.delete(e.payload.command_id);
    if (e.type === "run_update" && e.payload.run.id === runId) updates.push(e);
  }
  return { commands: ofRun, starts, maxRunning, updates };
}

test("max_parallel 2 over six hosts on two hubs: at most 2 running, each signed for its host, run_update coalesced", async () => {
  const starts = new Starts();
  const fleet = await agents("win", 6, { starts });
  const browser = await watcher();
  const run = await startRun({ command: "uptime", args: ["-p"], target: { host_ids: fleet.map((a) => a.hostId) }, max_parallel: 2 });
  expect(run).toMatchObject({ status: "running", total: 6, max_parallel: 2, team_id: "default" });
  expect(run.requested_by).toEqual({ type: "user", id: adminId, name: "admin" });
  const first = await browser.next("run_update", (f) => f.payload.run.id === run.id);
  expect(first.payload.run).toMatchObject({ status: "running", total: 6, counts: { queued: 6 } });
  const final = await finalUpdate(browser, run.id);
  expect(final.payload.run).toMatchObject({ status: "finished", total: 6, counts: { succeeded: 6, queued: 0, running: 0 } });
  expect(final.payload.run.finished_at).toEqual(expect.any(Number));
  const { run: got, commands } = await runAndCommands(run.id);
  expect(got.counts).toMatchObject({ succeeded: 6, queued: 0, running: 0 });
  expect(commands.map((c) => [c.status, c.run_id])).toEqual(Array(6).fill(["succeeded", run.id]));
  expect(new Set(commands.map((c) => c.host_id))).toEqual(new Set(fleet.map((a) => a.hostId)));
  // CONTRACT §5: each command frame was signed for the host that got it, by the api, for the admin.
  expect(starts.count).toBe(6);
  for (const f of starts.frames) {
    expect(f).toMatchObject({ host_id: f.agentHostId, requested_by: { id: adminId }, command: "uptime", args: ["-p"] });
    expect(f.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(f.expires_at! - f.issued_at!).toBeGreaterThan(0);
  }
  const h = runHistory(await allEvents(), run.id);
  expect(h.commands.size).toBe(6);
  expect([...h.starts.values()]).toEqual(Array(6).fill(1));
  expect(h.maxRunning).toBeLessThanOrEqual(2);
  // At most one run_update per 100 ms (by the events' own ts), but for the final one.
  const ts = h.updates.map((e) => e.ts);
  for (let i = 1; i < ts.length - 1; i++) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(100);
  expect(h.updates.at(-1)!.payload).toMatchObject({ run: { status: "finished" } });
  // The bookkeeping events are in the log for the fold, and reach no browser, not even an admin's.
  expect((await allEvents()).some((e) => (e.type as string) === "run_released")).toBe(false);
  for (const a of fleet) expect([...a.started.values()]).toEqual([1]);
  // The audit log names who created it.
  const audit = (await call("GET", "/api/audit?limit=1000")).json<{ entries: Array<{ action: string; target?: { id: string } }> }>();
  expect(audit.entries.filter((e) => e.action === "run.created" && e.target?.id === run.id)).toHaveLength(1);
  await Promise.all([...fleet.map((a) => a.close()), browser.close()]);
});

test("stop_on_failure: the first failure cancels every command not yet started", async () => {
  const fleet = await agents("stop", 4, { exit: () => 3 });
  const browser = await watcher();
  const run = await startRun({
    command: "false",
    target: { host_ids: fleet.map((a) => a.hostId) },
    max_parallel: 1,
    stop_on_failure: true,
  });
  const final = await finalUpdate(browser, run.id);
  expect(final.payload.run).toMatchObject({ status: "finished", counts: { failed: 1, cancelled: 3, queued: 0 } });
  const { commands } = await runAndCommands(run.id);
  expect(commands.filter((c) => c.status === "cancelled")).toHaveLength(3);
  expect(fleet.reduce((n, a) => n + a.started.size, 0)).toBe(1);
  await Promise.all([...fleet.map((a) => a.close()), browser.close()]);
});

test("cancel: the running command is stopped on its host, the held ones withdrawn; the run ends cancelled", async () => {
  const starts = new Starts();
  const fleet = await agents("cancel", 3, { starts });
  fleet.forEach((a) => a.hold(true));
  const browser = await watcher();
  const run = await startRun({ command: "sleep", args: ["100"], target: { host_ids: fleet.map((a) => a.hostId) }, max_parallel: 1 });
  await starts.waitFor(1);
  const res = await call("POST", `/api/runs/${run.id}/cancel`);
  expect(res.status).toBe(202);
  const final = await finalUpdate(browser, run.id);
  expect(final.payload.run).toMatchObject({ status: "cancelled", cancel_requested: true, counts: { cancelled: 3 } });
  expect(starts.count).toBe(1);
  expect((await call("POST", `/api/runs/${run.id}/cancel`)).status).toBe(409);
  const audit = (await call("GET", "/api/audit?limit=1000")).json<{ entries: Array<{ action: string; target?: { id: string } }> }>();
  expect(audit.entries.filter((e) => e.action === "run.cancelled" && e.target?.id === run.id)).toHaveLength(1);
  await Promise.all([...fleet.map((a) => a.close()), browser.close()]);
});

test("an offline host's command waits queued; the run finishes once the host comes online", async () => {
  const [online] = await agents("off", 1);
  const { host, token } = await createHost(apiUrl, cookie, "off-later");
  const browser = await watcher();
  const run = await startRun({ command: "uptime", target: { host_ids: [online!.hostId, host.id] } });
  // The online host's command finishes; the other waits queued.
  await browser.next("run_update", (f) => f.payload.run.id === run.id && f.payload.run.counts.succeeded === 1);
  expect((await runAndCommands(run.id)).run.counts).toMatchObject({ succeeded: 1, queued: 1 });
  const later = await scriptedAgent(stack.hubs[1]!.wsUrl, token, "off-later");
  const final = await finalUpdate(browser, run.id);
  expect(final.payload.run.counts.succeeded).toBe(2);
  expect(later.started.size).toBe(1);
  await Promise.all([online!.close(), later.close(), browser.close()]);
});

test("bad input: 400 naming the field, 404 for an unknown run, MAX_RUN_HOSTS; nothing created", async () => {
  await agents("many", 2);
  const before = (await call("GET", "/api/runs?limit=500")).json<{ runs: Run[] }>().runs.length;
  const bad = async (body: unknown, code: string) => {
    const res = await call("POST", "/api/runs", body);
    expect([res.status, res.json<{ error: { code: string } }>().error.code]).toEqual([400, code]);
    return res.json<{ error: { message: string } }>().error.message;
  };
  await bad({ command: "x", target: {} }, "invalid_request");
  expect(await bad({ command: "", target: { team_id: "default" } }, "invalid_request")).toMatch(/^command/);
  await bad({ command: "x", target: { host_ids: ["nope"] } }, "invalid_request");
  await bad({ command: "x", target: { host_ids: ["0b6f6d1e-1111-4111-8111-111111111111"] } }, "unknown_host");
  await bad({ command: "x", target: { labels: { no: "such" } } }, "empty_target");
  expect(await bad({ command: "x", target: { team_id: "default" }, max_parallel: 0 }, "invalid_request")).toMatch(/^max_parallel/);
  // More hosts than MAX_RUN_HOSTS (30 in this stack): refused, not truncated.
  const { hosts } = (await call("GET", "/api/hosts")).json<{ hosts: unknown[] }>();
  for (let i = hosts.length; i <= 30; i++) await createHost(apiUrl, cookie, `filler-${i}`);
  expect(await bad({ command: "x", target: { team_id: "default" } }, "too_many_hosts")).toMatch(/MAX_RUN_HOSTS/);
  expect((await call("GET", "/api/runs/0b6f6d1e-1111-4111-8111-111111111111")).status).toBe(404);
  expect((await call("GET", "/api/runs/nope")).status).toBe(404);
  expect((await call("POST", "/api/runs/nope/cancel")).status).toBe(404);
  expect((await call("GET", "/api/runs?limit=0")).status).toBe(400);
  expect((await call("GET", "/api/runs?before=0b6f6d1e-1111-4111-8111-111111111111")).status).toBe(400);
  expect((await call("GET", "/api/runs?limit=500")).json<{ runs: Run[] }>().runs.length).toBe(before);
});

test("GET /api/runs: newest first, paged with before and limit", async () => {
  const [a] = await agents("list", 1);
  const browser = await watcher();
  const r1 = await startRun({ command: "one", target: { host_ids: [a!.hostId] } });
  const r2 = await startRun({ command: "two", target: { host_ids: [a!.hostId] } });
  const page = (await call("GET", "/api/runs?limit=1")).json<{ runs: Run[] }>().runs;
  expect(page.map((r) => r.id)).toEqual([r2.id]);
  const next = (await call("GET", `/api/runs?limit=1&before=${r2.id}`)).json<{ runs: Run[] }>().runs;
  expect(next.map((r) => r.id)).toEqual([r1.id]);
  await finalUpdate(browser, r2.id);
  await Promise.all([a!.close(), browser.close()]);
});

test("teams: a viewer may not create a run; another team's hosts and runs are unknown; run_update only to the run's team", async () => {
  expect((await call("POST", "/api/teams", { name: "blue" })).status).toBe(201);
  const blue = await agents("blue", 1, { team: "blue" });
  const plain = await agents("plain", 1);
  const mkUser = async (username: string, role: string, teams: string[]) => {
    const password = `pw-${Math.random().toString(36).slice(2)}-x`;
    expect((await call("POST", "/api/users", { username, password, role, teams })).status).toBe(201);
    return login(apiUrl, username, password);
  };
  const viewer = await mkUser("runs-viewer", "viewer", ["default"]);
  const operator = await mkUser("runs-operator", "operator", ["default"]);
  expect((await call("POST", "/api/runs", { command: "x", target: { host_ids: [plain[0]!.hostId] } }, viewer)).status).toBe(403);
  // A blue host id is as unknown to a default-team operator as one that does not exist.
  const hidden = await call("POST", "/api/runs", { command: "x", target: { host_ids: [blue[0]!.hostId] } }, operator);
  expect([hidden.status, hidden.json<{ error: { code: string } }>().error.code]).toEqual([400, "unknown_host"]);
  // An admin's target across two teams must name one.
  const two = await call("POST", "/api/runs", { command: "x", target: { host_ids: [blue[0]!.hostId, plain[0]!.hostId] } });
  expect([two.status, two.json<{ error: { code: string } }>().error.code]).toEqual([400, "several_teams"]);

  const operatorSocket = await watcher(operator);
  const viewerSocket = await watcher(viewer);
  const blueRun = await startRun({ command: "b", target: { team_id: "blue" } });
  const mine = await startRun({ command: "p", target: { host_ids: [plain[0]!.hostId] } }, operator);
  expect(mine.requested_by).toMatchObject({ type: "user", name: "runs-operator" });
  // The operator's own run finishing is the barrier: the blue run, created before, never arrived.
  for (const s of [operatorSocket, viewerSocket]) {
    await finalUpdate(s, mine.id);
    expect(s.frames.some((f) => JSON.stringify(f).includes(blueRun.id))).toBe(false);
  }
  expect((await call("GET", `/api/runs/${blueRun.id}`, undefined, operator)).status).toBe(404);
  expect((await call("POST", `/api/runs/${blueRun.id}/cancel`, undefined, operator)).status).toBe(404);
  expect((await call("GET", `/api/runs/${mine.id}`, undefined, viewer)).status).toBe(200);
  const listed = (await call("GET", "/api/runs?limit=500", undefined, viewer)).json<{ runs: Run[] }>().runs.map((r) => r.id);
  expect(listed).toContain(mine.id);
  expect(listed).not.toContain(blueRun.id);
  expect((await call("GET", `/api/runs?before=${blueRun.id}`, undefined, viewer)).status).toBe(400);
  await Promise.all([...blue, ...plain].map((a) => a.close()));
  await Promise.all([operatorSocket.close(), viewerSocket.close()]);
});

test("npm run rebuild mid-run restores the window, the held commands and the counts; the run then completes", async () => {
  const starts = new Starts();
  const fleet = await agents("rb", 4, { starts });
  fleet.forEach((a) => a.hold(true));
  const browser = await watcher();
  const run = await startRun({ command: "deploy", target: { host_ids: fleet.map((a) => a.hostId) }, max_parallel: 2 });
  await starts.waitFor(2);
  const before = await runAndCommands(run.id);
  const res = spawnSync(process.execPath, ["--import", "tsx", "scripts/rebuild.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, REDIS_URL: stack.redis.url, REDIS_PREFIX: stack.redis.prefix, LOG_LEVEL: "warn" },
    encoding: "utf8",
  });
  expect(res.status).toBe(0);
  const after = await runAndCommands(run.id);
  expect(after.run.counts).toEqual(before.run.counts);
  expect(after.run.counts).toMatchObject({ running: 2, queued: 2 });
  expect(after.commands.map((c) => c.status)).toEqual(before.commands.map((c) => c.status));
  fleet.forEach((a) => a.hold(false));
  const final = await finalUpdate(browser, run.id);
  expect(final.payload.run.counts.succeeded).toBe(4);
  expect(starts.count).toBe(4);
  const h = runHistory(await allEvents(), run.id);
  expect([...h.starts.values()]).toEqual(Array(4).fill(1));
  expect(h.maxRunning).toBeLessThanOrEqual(2);
  await Promise.all([...fleet.map((a) => a.close()), browser.close()]);
});

test("kill -9 of the worker and then of a hub mid-run (max_parallel 2): nothing lost, nothing started twice", async () => {
  // Every agent on hub 1, held, so the window is full of running commands when the hub dies.
  const starts = new Starts();
  const fleet = await agents("crash", 6, { hub: 0, starts });
  fleet.forEach((a) => a.hold(true));
  const browser = await watcher();
  const run = await startRun({ command: "deploy", target: { host_ids: fleet.map((a) => a.hostId) }, max_parallel: 2 });
  await starts.waitFor(2);
  // The worker dies; a new one takes over. The first two finish meanwhile.
  await stack.worker.kill9();
  fleet.forEach((a) => a.hold(false));
  fleet.forEach((a) => a.hold(true));
  stack.worker = await startService("worker", { ...stack.env, NODE_ID: `worker2-${run.id.slice(0, 6)}` });
  // The next window is out (4 started): kill hub 1 with those two running.
  await starts.waitFor(4);
  await stack.hubs[0]!.kill9();
  await Promise.all(fleet.map((a) => a.reconnect(stack.hubs[1]!.wsUrl)));
  fleet.forEach((a) => a.hold(false));
  const final = await finalUpdate(browser, run.id, 60_000);
  expect(final.payload.run).toMatchObject({ status: "finished", counts: { succeeded: 6 } });
  const { commands } = await runAndCommands(run.id);
  expect(commands.map((c) => c.status)).toEqual(Array(6).fill("succeeded"));
  for (const a of fleet) expect([...a.started.values()]).toEqual([1]);
  const h = runHistory(await allEvents(), run.id);
  expect([...h.starts.values()]).toEqual(Array(6).fill(1));
  expect(h.maxRunning).toBeLessThanOrEqual(2);
  await Promise.all([...fleet.map((a) => a.close()), browser.close()]);
}, 120_000);
