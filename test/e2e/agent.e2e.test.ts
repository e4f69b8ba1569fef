/**
 * Issue 5 "Tests": the reference agent as a child process (its bin) against the real stack — a
 * throwaway Redis, the api, hub nodes and a worker as child processes — watched by browsers on
 * another hub node than the agent's, and through REST.
 */
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Chunk, Command } from "@tether/protocol";
import { apiCall, connectBrowser, createHost, login, type BrowserSocket } from "../support/clients";
import { startStack, type ServiceProcess, type Stack } from "../support/processes";
import { escapeRegExp, expectSameText, outputAt, range, textOf } from "./agent-output";
import { agentTempDir, spawnAgentProcess, withUrls, type AgentProcess } from "./agent-process";

/**
 * A short keepalive, so output is confirmed within a second or two; not shorter: a socket that
 * misses one pong is cut, and a loaded machine (the 10 MB test parses its frames here while the
 * agent streams them) stalls a process for hundreds of milliseconds.
 */
const PING_INTERVAL_MS = 1000;
/**
 * Much longer than an agent restart or reconnect takes even on a loaded machine, so a restarted
 * agent finds its command still `running` and a reconnecting one never sees its host go offline.
 */
const OFFLINE_TIMEOUT_MS = 15_000;
const AGENT_VERSION = (JSON.parse(readFileSync(path.join(__dirname, "../../packages/agent/package.json"), "utf8")) as { version: string })
  .version;

/** Bytes `seq 1 1400000` prints: 6 888 888 up to 999 999, then 400 001 eight-byte lines. */
const TEN_MB_LINES = 1_400_000;

let stack: Stack;
let hubA: ServiceProcess;
let hubB: ServiceProcess;
let cookie: string;
let tmp: ReturnType<typeof agentTempDir>;
const agents: AgentProcess[] = [];
const browsers: BrowserSocket[] = [];

/** The allow-list every agent here gets (argv templates, no shell unless the template says so). */
const COMMANDS = {
  ticker: ["sh", "-c", 'for i in $(seq 1 20); do echo "line $i"; sleep 0.01; done; echo "to stderr" >&2'],
  "ten-mb": ["seq", "1", String(TEN_MB_LINES)],
  slow: ["sh", "-c", 'for i in $(seq 1 60); do echo "tick $i"; sleep 0.05; done'],
};

beforeAll(async () => {
  tmp = agentTempDir();
  stack = await startStack({
    hubs: 2,
    env: { PING_INTERVAL_MS: String(PING_INTERVAL_MS), OFFLINE_TIMEOUT_MS: String(OFFLINE_TIMEOUT_MS) },
  });
  [hubA, hubB] = stack.hubs as [ServiceProcess, ServiceProcess];
  cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
});

afterAll(async () => {
  for (const agent of agents) agent.signal("SIGKILL");
  await Promise.all(agents.map((a) => a.waitForExit().catch(() => undefined)));
  for (const b of browsers) b.ws.terminate();
  await stack?.stop();
  tmp?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// helpers

const api = {
  async post<T>(p: string, body?: unknown): Promise<T> {
    const res = await apiCall(stack.api.url, cookie, "POST", p, body);
    if (res.status >= 300) throw new Error(`POST ${p}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.json<T>();
  },
  async get<T>(p: string): Promise<T> {
    const res = await apiCall(stack.api.url, cookie, "GET", p);
    if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.json<T>();
  },
};

async function browserOn(hub: ServiceProcess): Promise<BrowserSocket> {
  const browser = await connectBrowser(hub.wsUrl, cookie, { origin: stack.origin });
  browsers.push(browser);
  await browser.next("hosts");
  return browser;
}

interface AgentSetup {
  /** Hub URLs, in order (repeated --url). */
  urls: string[];
  commands?: Record<string, string[]>;
}

/** A new host with a token file, a config file and a state file; the agent's argv to (re)start it. */
async function prepareAgent(name: string, setup: AgentSetup): Promise<{ hostId: string; args: string[] }> {
  const { host, token } = await createHost(stack.api.url, cookie, name);
  const tokenFile = tmp.file(`${name}.token`, `${token}\n`);
  const config = tmp.file(
    `${name}.json`,
    JSON.stringify({ commands: setup.commands ?? COMMANDS, ping_interval: PING_INTERVAL_MS, labels: { suite: "agent-e2e" } }),
  );
  const args = [
    ...setup.urls.flatMap((url) => ["--url", url]),
    "--token-file",
    tokenFile,
    "--config",
    config,
    "--state-file",
    path.join(tmp.dir, `${name}.state.json`),
    "--hostname",
    `${name}.example`,
  ];
  return { hostId: host.id, args };
}

function startAgent(args: readonly string[], env: Record<string, string> = {}): AgentProcess {
  const agent = spawnAgentProcess(args, env);
  agents.push(agent);
  return agent;
}

/** A new host, its agent started and registered. */
async function onlineAgent(name: string, setup: AgentSetup): Promise<{ hostId: string; agent: AgentProcess; args: string[] }> {
  const { hostId, args } = await prepareAgent(name, setup);
  const agent = startAgent(args);
  await agent.waitForLine(new RegExp(` info registered host_id=${hostId}$`));
  return { hostId, agent, args };
}

/** SIGTERM: the agent must exit 0 (README "Connection"). */
async function stopAgent(agent: AgentProcess): Promise<void> {
  agent.signal("SIGTERM");
  expect(await agent.waitForExit()).toEqual({ code: 0, signal: null });
}

// ---------------------------------------------------------------------------------------------

test("registers: the host goes online in a browser on another node, with the agent's identity, and heartbeats carry metrics", async () => {
  const browser = await browserOn(hubB);
  const { host, token } = await createHost(stack.api.url, cookie, "agent-online");
  // The token from the environment this time (the other tests use --token-file).
  const agent = startAgent(
    [
      "--url",
      hubA.wsUrl,
      "--hostname",
      "agent-online.example",
      "--label",
      "rack=r1",
      "--heartbeat-interval",
      "200",
      "--ping-interval",
      String(PING_INTERVAL_MS),
      "--state-file",
      path.join(tmp.dir, "online.state.json"),
    ],
    {
      TETHER_TOKEN: token,
    },
  );
  const isMine = (f: { payload: { host: { id: string } } }) => f.payload.host.id === host.id;
  const online = await browser.next(
    "host_update",
    (f) => isMine(f) && f.payload.host.status === "online" && f.payload.host.hostname === "agent-online.example",
    10_000,
  );
  expect(online.payload.host).toMatchObject({ arch: os.arch(), version: AGENT_VERSION, labels: { rack: "r1" } });
  expect(online.payload.host.os).toContain(`${os.type()} ${os.release()}`);
  await agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`));

  const first = await browser.next("host_update", (f) => isMine(f) && f.payload.host.metrics !== undefined);
  expect(first.payload.host.metrics).toEqual(
    expect.objectContaining({
      load_avg: [expect.any(Number), expect.any(Number), expect.any(Number)],
      cpu_count: os.availableParallelism(),
      mem_total_bytes: os.totalmem(),
      uptime_s: expect.any(Number),
      agent_rss_bytes: expect.any(Number),
      commands_running: 0,
    }),
  );
  // Periodic: two more heartbeats, each a later update than the one before.
  let previous = first;
  for (let i = 0; i < 2; i++) {
    previous = await browser.next(
      "host_update",
      (f) => isMine(f) && f.payload.host.metrics !== undefined && f.payload.host.last_seen! > previous.payload.host.last_seen!,
      3000,
    );
  }
  expect(agent.lines().join("\n")).not.toContain(token);
  await stopAgent(agent);
});

test("an allowed command runs; its output reaches a browser on another node in order, then succeeded, and REST has all of it", async () => {
  const browser = await browserOn(hubB);
  const { hostId, agent } = await onlineAgent("agent-allowed", { urls: [hubA.wsUrl] });
  browser.send({ type: "dispatch", payload: { host_id: hostId, command: "ticker" } });
  const queued = await browser.next("command_queued", (f) => f.payload.command.host_id === hostId);
  const id = queued.payload.command.id;
  const finished = await browser.next("command_finished", (f) => f.payload.command_id === id, 10_000);
  expect(finished.payload).toMatchObject({ host_id: hostId, status: "succeeded", exit_code: 0 });

  const chunks = outputAt(browser, id);
  expect(chunks.length).toBeGreaterThan(1); // the lines come 10 ms apart: several frames, so order means something
  expect(chunks.map((c) => c.seq)).toEqual(range(chunks.length));
  expect(textOf(chunks)).toBe(
    range(20)
      .map((i) => `line ${i + 1}\n`)
      .join(""),
  );
  expect(textOf(chunks, "stderr")).toBe("to stderr\n");
  const lastOutput = browser.frames.findIndex(
    (f) => f.type === "command_output" && f.payload.command_id === id && f.payload.seq === chunks.length - 1,
  );
  expect(browser.frames.indexOf(finished)).toBeGreaterThan(lastOutput);

  const view = await api.get<{ command: Command; output: Chunk[] }>(`/api/commands/${id}`);
  expect(view.command).toMatchObject({ status: "succeeded", exit_code: 0, command: "ticker" });
  expect(view.output).toEqual(chunks);
  await agent.waitForLine(new RegExp(` info command_finished command_id=${id} status=succeeded exit_code=0 `));
  await stopAgent(agent);
});

test("a command outside the allow-list, or with args its template does not take, is rejected and never runs", async () => {
  const browser = await browserOn(hubB);
  const { hostId, agent } = await onlineAgent("agent-rejects", { urls: [hubA.wsUrl] });
  const cases = [
    { command: "reboot", args: [], reason: /"reboot" is not in this agent's allow-list/ },
    { command: "ticker", args: ["--evil"], reason: /"ticker" takes no arguments/ },
  ];
  for (const c of cases) {
    const { command } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: c.command, args: c.args });
    const finished = await browser.next("command_finished", (f) => f.payload.command_id === command.id, 10_000);
    expect(finished.payload).toMatchObject({ host_id: hostId, status: "rejected", exit_code: null });
    expect(finished.payload.reason).toMatch(c.reason);
    const view = await api.get<{ command: Command; output: Chunk[] }>(`/api/commands/${command.id}`);
    expect(view.command.status).toBe("rejected");
    expect(view.output).toEqual([]);
    await agent.waitForLine(new RegExp(` info command_rejected command_id=${command.id} `));
  }
  expect(agent.lines().filter((l) => / command_started /.test(l))).toEqual([]);
  await stopAgent(agent);
});

test("10 MB of output arrives whole and in order, at a browser and through REST, in well under 1,000 frames per MB", async () => {
  // A browser that falls behind (a loaded machine: the test process parses 10 MB of frames) may
  // be cut off, as a slow consumer (1013) or for a missed pong, and comes back with ?after=, as the
  // dashboard does: across its sockets it must hold the whole output, each chunk once, in order.
  const sockets = [await browserOn(hubB)];
  const { hostId, agent } = await onlineAgent("agent-firehose", { urls: [hubA.wsUrl] });
  const { command } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: "ten-mb" });
  let finished;
  for (;;) {
    const current = sockets.at(-1)!;
    try {
      finished = await current.next("command_finished", (f) => f.payload.command_id === command.id, 30_000);
      break;
    } catch (err) {
      if (!current.closeInfo || sockets.length > 5) throw err;
      const after = current.frames.findLast((f) => f.id !== undefined)!.id!;
      const resumed = await connectBrowser(hubB.wsUrl, cookie, { origin: stack.origin, after });
      browsers.push(resumed);
      sockets.push(resumed);
    }
  }
  expect(finished.payload).toMatchObject({ status: "succeeded", exit_code: 0 });

  const expected = range(TEN_MB_LINES)
    .map((i) => `${i + 1}\n`)
    .join("");
  expect(expected.length).toBeGreaterThanOrEqual(10_000_000);
  const chunks = sockets.flatMap((s) => outputAt(s, command.id));
  expect(chunks.map((c) => c.seq)).toEqual(range(chunks.length));
  expect(chunks.every((c) => c.stream === "stdout")).toBe(true);
  expectSameText(textOf(chunks), expected, "output at the browser");
  const megabytes = expected.length / 1e6;
  const perMb = chunks.length / megabytes;
  process.stderr.write(
    `[agent e2e] ${megabytes.toFixed(1)} MB in ${chunks.length} command_output frames = ${perMb.toFixed(1)} frames/MB (${sockets.length - 1} resumes)\n`,
  );
  expect(perMb).toBeLessThan(100);

  const view = await api.get<{ command: Command; output: Chunk[] }>(`/api/commands/${command.id}`);
  expect(view.output.length).toBe(chunks.length);
  expect(view.output.map((c) => c.seq)).toEqual(range(chunks.length));
  expectSameText(textOf(view.output), expected, "output through REST");
  expect(agent.lines().filter((l) => / hub_error /.test(l))).toEqual([]);
  await stopAgent(agent);
});

test("the agent's hub is killed (kill -9) mid-command: the agent moves to another node and the output is complete, each seq once", async () => {
  // Its own hub, so killing it leaves the suite's two hubs alone.
  const doomed = await stack.startHub();
  const browser = await browserOn(hubB);
  const { hostId, agent } = await onlineAgent("agent-failover", { urls: [doomed.wsUrl, hubB.wsUrl] });
  await agent.waitForLine(new RegExp(` info connected url=${escapeRegExp(doomed.wsUrl)}$`));
  const { command } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: "slow" });
  const id = command.id;
  // About a second in: some output is confirmed by pings by now, the newest is not.
  await browser.next("command_output", (f) => f.payload.command_id === id && f.payload.data.includes("tick 20\n"), 10_000);

  await doomed.kill9();
  await agent.waitForLine(/ warn disconnected code=1006 /, 5000);
  await agent.waitForLine(new RegExp(` info connected url=${escapeRegExp(hubB.wsUrl)}$`), 5000);
  // What the dead hub may not have stored goes out again, same seq (the new hub drops what it has).
  await agent.waitForLine(/ info resending frames=[1-9]\d*$/, 5000);
  // The hub redelivers the running command when the agent registers; the agent does not run it again.
  await agent.waitForLine(new RegExp(` info command_duplicate command_id=${id} state=(running|finished)$`), 5000);
  const finished = await browser.next("command_finished", (f) => f.payload.command_id === id, 15_000);
  expect(finished.payload).toMatchObject({ status: "succeeded", exit_code: 0 });

  const chunks = outputAt(browser, id);
  expect(chunks.map((c) => c.seq)).toEqual(range(chunks.length)); // each seq exactly once, in order
  expect(textOf(chunks)).toBe(
    range(60)
      .map((i) => `tick ${i + 1}\n`)
      .join(""),
  );
  expect((await api.get<{ output: Chunk[] }>(`/api/commands/${id}`)).output).toEqual(chunks);
  expect(agent.lines().filter((l) => / command_started /.test(l))).toHaveLength(1);
  // No seq_gap (nor any other error) from the surviving hub, and the host never looked offline.
  expect(agent.lines().filter((l) => / hub_error /.test(l))).toEqual([]);
  const statuses = browser.frames
    .filter((f) => f.type === "host_update" && f.payload.host.id === hostId)
    .map((f) => f.payload.host.status as string);
  expect(statuses.slice(statuses.indexOf("online"))).not.toContain("offline"); // (a new host starts offline)
  await stopAgent(agent);
});

test("the agent killed (kill -9) after a command finished while its hub was down, restarted with its state file: the hub redelivers the command, the agent answers with its result and does not run it again", async () => {
  // The command finishes while the agent cannot reach any hub, so its command_finished never
  // leaves the agent; the restarted agent then has nothing to say about it until the hub, which
  // still has it running, redelivers it on register: the redelivery is certain, not a race.
  const lonely = await stack.startHub();
  const browser = await browserOn(hubB);
  const marker = path.join(tmp.dir, "ran-once");
  const go = path.join(tmp.dir, "hub-is-down");
  const commands = { mark: ["sh", "-c", `echo ran >> '${marker}'; echo marked; while [ ! -e '${go}' ]; do sleep 0.02; done; echo done`] };
  const { hostId, agent: first, args } = await onlineAgent("agent-restart", { urls: [lonely.wsUrl], commands });
  const { command } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: "mark" });
  const id = command.id;
  await browser.next("command_output", (f) => f.payload.command_id === id && f.payload.data.includes("marked"), 10_000);

  await lonely.kill9();
  await first.waitForLine(/ warn disconnected code=1006 /, 5000);
  writeFileSync(go, ""); // the barrier the command waits for: it finishes now, with no hub to tell
  await first.waitForLine(new RegExp(` info command_finished command_id=${id} status=succeeded exit_code=0 `));
  first.signal("SIGKILL");
  expect(await first.waitForExit()).toEqual({ code: null, signal: "SIGKILL" });
  expect((await api.get<{ command: Command }>(`/api/commands/${id}`)).command.status).toBe("running");

  const second = startAgent(withUrls(args, [hubA.wsUrl]));
  await second.waitForLine(new RegExp(` info registered host_id=${hostId}$`));
  await second.waitForLine(new RegExp(` info command_duplicate command_id=${id} state=finished$`));
  const finished = await browser.next("command_finished", (f) => f.payload.command_id === id, 10_000);
  expect(finished.payload).toMatchObject({ host_id: hostId, status: "succeeded", exit_code: 0 });
  expect(readFileSync(marker, "utf8")).toBe("ran\n");
  expect(second.lines().filter((l) => / command_(received|started) /.test(l))).toEqual([]);
  expect(second.lines().filter((l) => / hub_error /.test(l))).toEqual([]);
  await stopAgent(second);
});

test("the agent killed (kill -9) mid-command and restarted with its state file: the command is reported failed and never runs again", async () => {
  const browser = await browserOn(hubB);
  const marker = path.join(tmp.dir, "orphan-ran-once");
  const commands = { mark: ["sh", "-c", `echo ran >> '${marker}'; echo marked; exec sleep 30`], ...COMMANDS };
  const { hostId, agent: first, args } = await onlineAgent("agent-orphan", { urls: [hubA.wsUrl], commands });
  const { command } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: "mark" });
  const id = command.id;
  await browser.next("command_output", (f) => f.payload.command_id === id && f.payload.data.includes("marked"), 10_000);
  const started = await first.waitForLine(new RegExp(` info command_started command_id=${id} .* pid=(\\d+)$`));
  // The command leads its own process group and outlives a kill -9 of the agent; ours to end.
  const group = Number(/ pid=(\d+)$/.exec(started)![1]);
  try {
    first.signal("SIGKILL");
    expect(await first.waitForExit()).toEqual({ code: null, signal: "SIGKILL" });
    expect((await api.get<{ command: Command }>(`/api/commands/${id}`)).command.status).toBe("running");

    const second = startAgent(args);
    await second.waitForLine(new RegExp(` warn command_orphaned command_id=${id}$`));
    await second.waitForLine(new RegExp(` info registered host_id=${hostId}$`));
    const finished = await browser.next("command_finished", (f) => f.payload.command_id === id, 10_000);
    expect(finished.payload).toMatchObject({ status: "failed", exit_code: null });
    expect(finished.payload.reason).toMatch(/the agent restarted while this command ran/);
    // Whether the hub redelivers it depends on whether that report beat the hub's read at register
    // (both are right); either way it must not run. Barrier: a command dispatched now reaches the
    // agent after any redelivery, on the same socket.
    const { command: barrier } = await api.post<{ command: Command }>(`/api/hosts/${hostId}/commands`, { command: "ticker" });
    await browser.next("command_finished", (f) => f.payload.command_id === barrier.id, 10_000);
    expect(
      second
        .lines()
        .filter((l) => / command_started /.test(l))
        .map((l) => /command_id=(\S+)/.exec(l)![1]),
    ).toEqual([barrier.id]);
    expect(readFileSync(marker, "utf8")).toBe("ran\n");
    expect(second.lines().filter((l) => / hub_error /.test(l))).toEqual([]);
    await stopAgent(second);
  } finally {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

test("a hub whose MAX_MESSAGE_BYTES is below the agent's --max-message-bytes closes with 1009; the agent names the option to fix", async () => {
  const strict = await stack.startHub({ MAX_MESSAGE_BYTES: "4096" });
  const { hostId, agent } = await onlineAgent("agent-too-big", { urls: [strict.wsUrl] });
  await api.post(`/api/hosts/${hostId}/commands`, { command: "ten-mb" }); // 16 KiB frames
  await agent.waitForLine(/ warn disconnected code=1009 /, 10_000);
  await agent.waitForLine(/ error frame_too_big message=".*--max-message-bytes/);
  await stopAgent(agent);
  await strict.stop();
});

test("a bad flag exits 2 with a message naming it", async () => {
  const agent = spawnAgentProcess(
    ["--url", hubA.wsUrl, "--heartbeat-interval", "soon", "--state-file", path.join(tmp.dir, "bad.state.json")],
    { TETHER_TOKEN: "unused" },
  );
  expect(await agent.waitForExit()).toEqual({ code: 2, signal: null });
  expect(agent.lines()).toContain("tether-agent: invalid --heartbeat-interval: must be a number");
});
