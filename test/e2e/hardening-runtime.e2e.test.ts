/**
 * Issue 11, points 1–4 and 8, on real parts: a throwaway Redis, the api, two hubs and a worker as
 * child processes, the reference agent as a real process, browsers and raw agents on real sockets.
 */
import path from "node:path";
import type { Redis } from "ioredis";
import { CloseCode, ErrorCode, type Chunk, type Command } from "@tether/protocol";
import { createKeys, truncatedMarker } from "@tether/core";
import { closeClient, newRedisClient } from "../support/redis";
import { startService, startStack, type ServiceProcess, type Stack } from "../support/processes";
import { apiCall, connectAgent, connectBrowser, createHost, expectUpgradeStatus, login, type BrowserSocket } from "../support/clients";
import { agentTempDir, spawnAgentProcess, type AgentProcess } from "./agent-process";

const OFFLINE_TIMEOUT_MS = 1500;
const MAX_OUTPUT = 65_536;
const CANCEL_TIMEOUT_MS = 1500;
const MAX_SOCKETS = 3;

let stack: Stack;
let redis: Redis;
let tmp: ReturnType<typeof agentTempDir>;
const agents: AgentProcess[] = [];
const keys = () => createKeys(stack.env.REDIS_PREFIX!);

beforeAll(async () => {
  tmp = agentTempDir();
  stack = await startStack({
    hubs: 2,
    // HUB_TTL_MS and SWEEP_INTERVAL_MS are NOT set: point 1 is about their derived defaults.
    env: {
      OFFLINE_TIMEOUT_MS: String(OFFLINE_TIMEOUT_MS),
      MAX_OUTPUT_BYTES_PER_COMMAND: String(MAX_OUTPUT),
      CANCEL_TIMEOUT_MS: String(CANCEL_TIMEOUT_MS),
      MAX_SOCKETS_PER_SESSION: String(MAX_SOCKETS),
      LOGIN_RATE_LIMIT: "1000",
    },
  });
  redis = newRedisClient(stack.redis.url);
});

afterAll(async () => {
  for (const agent of agents) {
    agent.signal("SIGCONT");
    agent.signal("SIGKILL");
  }
  await Promise.all(agents.map((a) => a.waitForExit().catch(() => undefined)));
  if (redis) await closeClient(redis);
  await stack?.stop();
  tmp?.cleanup();
});

/** A fresh session: each test counts its own sockets. */
const freshCookie = () => login(stack.api.url, stack.admin.username, stack.admin.password);

async function browserOn(hub: ServiceProcess, cookie: string): Promise<BrowserSocket> {
  const browser = await connectBrowser(hub.wsUrl, cookie, { origin: stack.origin });
  await browser.next("hosts");
  return browser;
}

const COMMANDS = {
  // 400,000 bytes of output, far past the 64 KiB bound, then a last line.
  flood: ["sh", "-c", "head -c 400000 /dev/zero | tr '\\000' x; echo; echo flood-done"],
  slow: ["sleep", "30"],
  hello: ["echo", "hello"],
};

/** A new host with the real agent on `hub`, registered. */
async function realAgent(name: string, cookie: string, hub: ServiceProcess): Promise<{ hostId: string; agent: AgentProcess }> {
  const { host, token } = await createHost(stack.api.url, cookie, name);
  const args = [
    "--url",
    hub.wsUrl,
    "--token-file",
    tmp.file(`${name}.token`, `${token}\n`),
    "--config",
    tmp.file(`${name}.json`, JSON.stringify({ commands: COMMANDS })),
    "--state-file",
    path.join(tmp.dir, `${name}.state.json`),
    "--hostname",
    `${name}.example`,
  ];
  const agent = spawnAgentProcess(args);
  agents.push(agent);
  await agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`));
  return { hostId: host.id, agent };
}

const dispatch = (cookie: string, hostId: string, body: unknown) =>
  apiCall(stack.api.url, cookie, "POST", `/api/hosts/${hostId}/commands`, body);

async function finished(browser: BrowserSocket, commandId: string, timeoutMs = 15_000) {
  return browser.next((f) => f.type === "command_finished" && (f.payload as { command_id: string }).command_id === commandId, timeoutMs);
}

describe("1. crash → offline within 2 × OFFLINE_TIMEOUT_MS, with only OFFLINE_TIMEOUT_MS set", () => {
  test("kill -9 of the hub holding an agent: its host is offline within 2 × 1500 ms", async () => {
    const cookie = await freshCookie();
    const doomed = await startService("hub", { ...stack.env });
    try {
      expect(doomed.env.HUB_TTL_MS).toBeUndefined();
      expect(doomed.env.SWEEP_INTERVAL_MS).toBeUndefined();
      const { host, token } = await createHost(stack.api.url, cookie, "crash-timing");
      const browser = await browserOn(stack.hubs[0]!, cookie);
      const agent = await connectAgent(doomed.wsUrl, token);
      agent.send({ type: "register", payload: { hostname: "crash-timing" } });
      await agent.next("registered");
      await browser.next((f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "online");
      const killedAt = Date.now();
      await doomed.kill9();
      const offline = await browser.next(
        (f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "offline",
        20_000,
      );
      // When the host turned offline is its event's `ts` (the log's clock, this machine's), not when
      // this test process got around to reading the frame through the other hub.
      const elapsed = offline.ts! - killedAt;
      console.log(`host of a kill -9'd hub offline after ${elapsed} ms (OFFLINE_TIMEOUT_MS=${OFFLINE_TIMEOUT_MS})`);
      // The bound is 2 × 1500 = 3000 ms; with the old fixed HUB_TTL_MS of 15 s it took 14+ s. The
      // extra 3000 ms are only for timer scheduling on a shared 2-core machine (child processes,
      // the worker's sweep), not part of the design's worst case (2625 ms with the derived
      // 1500 / 375: max(1500, 1.5 × 1500) + 375).
      expect(elapsed).toBeLessThanOrEqual(2 * OFFLINE_TIMEOUT_MS + 3000);
      await browser.close();
      await agent.terminate();
    } finally {
      await doomed.kill9().catch(() => undefined);
    }
  });
});

describe("2. bounded output", () => {
  test("past MAX_OUTPUT_BYTES_PER_COMMAND: one stderr marker, the command runs to the end, the agent is told, and the output expires after finishing", async () => {
    const cookie = await freshCookie();
    const browser = await browserOn(stack.hubs[1]!, cookie);
    const { hostId, agent } = await realAgent("flood", cookie, stack.hubs[0]!);
    const res = await dispatch(cookie, hostId, { command: "flood" });
    expect(res.status).toBe(202);
    const { command } = res.json<{ command: Command }>();
    const done = await finished(browser, command.id);
    expect(done.payload).toMatchObject({ status: "succeeded", exit_code: 0 });
    await agent.waitForLine(/hub_error.*output_truncated/);
    const got = await apiCall(stack.api.url, cookie, "GET", `/api/commands/${command.id}`);
    const { output } = got.json<{ output: Chunk[] }>();
    const markers = output.filter((c) => c.data === truncatedMarker(MAX_OUTPUT));
    expect(markers).toHaveLength(1);
    expect(markers[0]!.stream).toBe("stderr");
    expect(output.at(-1)).toEqual(markers[0]);
    // Stored: at most the bound (JSON-encoded) plus the marker; the last line never made it.
    const stored = output.slice(0, -1).reduce((n, c) => n + JSON.stringify(c.data).length, 0);
    expect(stored).toBeLessThanOrEqual(MAX_OUTPUT);
    expect(output.some((c) => c.data.includes("flood-done"))).toBe(false);
    expect(output.map((c) => c.seq)).toEqual(output.map((_, i) => i));
    // The log holds no more of it than the list.
    const logged = await redis.xrange(keys().log, "-", "+");
    const ofIt = logged.filter(([, f]) => f[1] === "command_output" && f[3]!.includes(command.id));
    expect(ofIt).toHaveLength(output.length);
    // Finished: list and meta expire (OUTPUT_MAX_AGE_MS, default 7 days).
    for (const key of [keys().commandOutput(command.id), keys().commandMeta(command.id)]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(6 * 86_400_000);
      expect(ttl).toBeLessThanOrEqual(7 * 86_400_000);
    }
    await browser.close();
  });
});

describe("3. no dispatch can wedge a host", () => {
  // 16 × 4060 characters: the dispatch itself fits a 64 KiB frame, the command frame (with the
  // 512 bytes kept for the signature) does not.
  const bigArgs = Array.from({ length: 16 }, (_, i) => String(i % 10).repeat(4060));

  test("REST: a dispatch whose command frame would not fit the agent's limit is 400 naming the field; the host runs the next one", async () => {
    const cookie = await freshCookie();
    const browser = await browserOn(stack.hubs[1]!, cookie);
    const { hostId } = await realAgent("big-frame", cookie, stack.hubs[0]!);
    const refused = await dispatch(cookie, hostId, { command: "hello", args: bigArgs });
    expect(refused.status).toBe(400);
    expect(refused.json<{ error: { code: string; message: string } }>().error.message).toMatch(/^args: /);
    const history = await apiCall(stack.api.url, cookie, "GET", `/api/hosts/${hostId}/commands`);
    expect(history.json<{ commands: Command[] }>().commands).toHaveLength(0);
    // The browser frame: error invalid_message, nothing queued, the socket stays open.
    browser.send({ type: "dispatch", payload: { host_id: hostId, command: "hello", args: bigArgs } });
    const err = await browser.next("error");
    expect(err.payload.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(err.payload.message).toMatch(/^args: /);
    const ok = await dispatch(cookie, hostId, { command: "hello" });
    expect(ok.status).toBe(202);
    const { command } = ok.json<{ command: Command }>();
    expect((await finished(browser, command.id)).payload).toMatchObject({ status: "succeeded" });
    await browser.close();
  });

  test("cancel of a running command whose agent never answers still ends it cancelled on the server", async () => {
    const cookie = await freshCookie();
    const browser = await browserOn(stack.hubs[1]!, cookie);
    const { hostId, agent } = await realAgent("mute", cookie, stack.hubs[0]!);
    const res = await dispatch(cookie, hostId, { command: "slow" });
    const { command } = res.json<{ command: Command }>();
    await agent.waitForLine(new RegExp(`command_received command_id=${command.id}`));
    await browser.next((f) => f.type === "command_started" && (f.payload as { command: Command }).command.id === command.id);
    // Stopped: its socket stays open, so the hub still holds it, but it answers nothing.
    agent.signal("SIGSTOP");
    const cancelledAt = Date.now();
    expect((await apiCall(stack.api.url, cookie, "POST", `/api/commands/${command.id}/cancel`)).status).toBe(202);
    const done = await finished(browser, command.id);
    expect(done.payload).toMatchObject({ status: "cancelled" });
    // Not before the agent had its chance (CANCEL_TIMEOUT_MS), well within ten times it.
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(CANCEL_TIMEOUT_MS - 50);
    const got = await apiCall(stack.api.url, cookie, "GET", `/api/commands/${command.id}`);
    expect(got.json<{ command: Command }>().command.status).toBe("cancelled");
    agent.signal("SIGCONT");
    await browser.close();
  });
});

describe("4. open sockets follow their session", () => {
  test("the session deleted in the store: the open socket can no longer dispatch and is closed 4401", async () => {
    const cookie = await freshCookie();
    const { host, token } = await createHost(stack.api.url, cookie, "session-gone");
    const agent = await connectAgent(stack.hubs[0]!.wsUrl, token);
    agent.send({ type: "register", payload: { hostname: "session-gone" } });
    await agent.next("registered");
    const browser = await browserOn(stack.hubs[1]!, cookie);
    const sid = decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!;
    expect(await redis.del(keys().session(sid))).toBe(1);
    const deletedAt = Date.now();
    browser.send({ type: "dispatch", payload: { host_id: host.id, command: "hello" } });
    const closed = await browser.waitClosed(10_000);
    expect(closed.code).toBe(CloseCode.REVOKED);
    // A dispatch may pass only while the last check is under a second old: any command created
    // was created within that second, never later.
    const created = (await redis.hvals(keys().commands)).map((j) => JSON.parse(j) as Command).filter((c) => c.host_id === host.id);
    for (const c of created) expect(c.created_at - deletedAt).toBeLessThanOrEqual(1000);
    expect(await expectUpgradeStatus(stack.hubs[0]!.wsUrl, { cookie, origin: stack.origin })).toBe(401);
    await agent.terminate();
  });

  test("the session expires in the store (its TTL runs out): the socket is closed 4401", async () => {
    const cookie = await freshCookie();
    const browser = await browserOn(stack.hubs[0]!, cookie);
    const sid = decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!;
    expect(await redis.pexpire(keys().session(sid), 1)).toBe(1);
    expect((await browser.waitClosed(10_000)).code).toBe(CloseCode.REVOKED);
  });
});

describe("8. sockets per session", () => {
  test("past MAX_SOCKETS_PER_SESSION across hubs → 429 before the upgrade; a closed socket frees its place; a killed hub's stop counting", async () => {
    const cookie = await freshCookie();
    const doomed = await startService("hub", { ...stack.env });
    try {
      const probe = (hub: ServiceProcess) => expectUpgradeStatus(hub.wsUrl, { cookie, origin: stack.origin });
      const a = await browserOn(stack.hubs[0]!, cookie);
      const b = await browserOn(doomed, cookie);
      const c = await browserOn(doomed, cookie);
      expect(await probe(stack.hubs[1]!)).toBe(429);
      expect(await probe(stack.hubs[0]!)).toBe(429);
      await a.close();
      // The close's release is one Redis call behind the close frame: barrier on it.
      const sockets = keys().sessionSockets(decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!);
      for (let n = await redis.zcard(sockets); n > 2; n = await redis.zcard(sockets)) await new Promise((r) => setImmediate(r));
      const d = await browserOn(stack.hubs[1]!, cookie);
      expect(await probe(stack.hubs[0]!)).toBe(429);
      // kill -9: b and c are never released; their claims lapse at the time their score says,
      // since nobody refreshes them any more (at most SOCKET_CLAIM_MS, 10 s, after the kill).
      await doomed.kill9();
      await Promise.all([b.waitClosed(10_000), c.waitClosed(10_000)]);
      expect(await probe(stack.hubs[0]!)).toBe(429);
      // The dead hub's claims (d's, on a live hub, keeps being refreshed).
      const flat = await redis.zrange(sockets, "0", "-1", "WITHSCORES");
      const live = `${stack.hubs[1]!.env.NODE_ID}:`;
      const stale = flat.flatMap((member, i) => (i % 2 === 0 && !member.startsWith(live) ? [Number(flat[i + 1])] : []));
      expect(stale).toHaveLength(2);
      const lapseAt = Math.max(...stale);
      expect(lapseAt - Date.now()).toBeLessThanOrEqual(10_000);
      // Not a wait for something to happen: the claims' lapse time is known, the hub's clock is ours.
      await new Promise((r) => setTimeout(r, Math.max(0, lapseAt - Date.now()) + 50));
      const status = await probe(stack.hubs[0]!);
      expect(status).toBe(101);
      await d.close();
    } finally {
      await doomed.kill9().catch(() => undefined);
    }
  });
});
