/**
 * Issue 13, points 1, 2 and 4, against a real stack (api, hub, worker as child processes, a
 * throwaway Redis) and real agents (their bin) holding the server's public key. The attacker here
 * can read and write Redis and publish on its channels, and holds none of the services' secrets:
 * every command it forges, tampers with, replays, redirects or revives is refused by the agent,
 * which runs nothing and says why in `command_finished`. Point 6's suite builds on these helpers.
 *
 * "Nothing ran" is proven by a marker log every allowed command appends its tag to, read after
 * the command's `command_finished` has reached a browser (the agent decides before it answers).
 */
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { Redis } from "ioredis";
import type { Command } from "@tether/protocol";
import { signCommandFields, signingKeyId } from "@tether/protocol/src/signing";
import { createKeys } from "../../packages/core/src/keys";
import { apiCall, connectBrowser, createHost, login, request, type BrowserSocket } from "../support/clients";
import { startStack, type Stack } from "../support/processes";
import { closeClient, newRedisClient } from "../support/redis";
import { agentTempDir, spawnAgentProcess, type AgentProcess } from "./agent-process";

let stack: Stack;
let cookie: string;
let tmp: ReturnType<typeof agentTempDir>;
let redis: Redis;
let browser: BrowserSocket;
let keys: ReturnType<typeof createKeys>;
let serverKeyFile: string;
let runsLog: string;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  tmp = agentTempDir();
  runsLog = path.join(tmp.dir, "runs.log");
  stack = await startStack({ hubs: 1 });
  cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  redis = newRedisClient(stack.redis.url);
  keys = createKeys(stack.redis.prefix);
  browser = await connectBrowser(stack.hubs[0]!.wsUrl, cookie, { origin: stack.origin });
  await browser.next("hosts");
  // What an operator does: fetch the public key (no session needed) and hand it to the agent.
  const res = await request(`${stack.api.url}/api/signing-keys`);
  expect(res.status).toBe(200);
  const { keys: listed } = res.json<{ keys: { key_id: string; public_key: string }[] }>();
  serverKeyFile = tmp.file("server-key.pub", listed[0]!.public_key);
});

afterAll(async () => {
  for (const agent of agents) agent.signal("SIGKILL");
  await Promise.all(agents.map((a) => a.waitForExit().catch(() => undefined)));
  browser?.ws.terminate();
  if (redis) await closeClient(redis);
  await stack?.stop();
  tmp?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** A host, its token file and the agent argv (with the server key unless `withKey` is false). */
async function prepareAgent(name: string, withKey = true): Promise<{ hostId: string; args: string[]; tokenFile: string }> {
  const { host, token } = await createHost(stack.api.url, cookie, name);
  const tokenFile = tmp.file(`${name}.token`, `${token}\n`);
  const commands = {
    // Appends its tag to the marker log: the only way anything here runs.
    mark: ["sh", "-c", `echo "$0" >> ${runsLog}`, "{tag:re([a-z0-9-]{1,40})}"],
    "tail-log": ["tail", "-n", "{lines:int}", "--", `{file:path(${tmp.dir}/**)}`],
  };
  const config = tmp.file(`${name}.json`, JSON.stringify({ commands }));
  const args = ["--url", stack.hubs[0]!.wsUrl, "--token-file", tokenFile, "--config", config];
  args.push("--state-file", path.join(tmp.dir, `${name}.state.json`), "--hostname", `${name}.example`);
  if (withKey) args.push("--server-key", serverKeyFile);
  return { hostId: host.id, args, tokenFile };
}

async function startAgent(args: string[], hostId: string): Promise<AgentProcess> {
  const agent = spawnAgentProcess(args);
  agents.push(agent);
  await agent.waitForLine(new RegExp(` info registered host_id=${hostId}$`), 20_000);
  return agent;
}

const runs = (): string[] => (existsSync(runsLog) ? readFileSync(runsLog, "utf8").split("\n").filter(Boolean) : []);

/** A genuine dispatch through the REST API (signed by the api). */
async function dispatch(hostId: string, command: string, args: string[]): Promise<Command> {
  const res = await apiCall(stack.api.url, cookie, "POST", `/api/hosts/${hostId}/commands`, { command, args });
  expect(res.status).toBe(202);
  return res.json<{ command: Command }>().command;
}

/** A command queued for a host without an agent, once the worker has recorded it; then as stored. */
async function queuedRecord(id: string): Promise<Command> {
  await browser.next("command_queued", (f) => f.payload.command.id === id);
  return stored(id);
}

/** The command as stored in Redis (what the attacker reads). */
async function stored(id: string): Promise<Command> {
  return JSON.parse((await redis.hget(keys.commands, id))!) as Command;
}

/**
 * The Redis-writing attacker's delivery: a command record, its meta (queued, for `hostId`) and
 * the doorbell on the host's channel, exactly what the worker writes for a genuine dispatch.
 */
async function inject(hostId: string, command: Command): Promise<void> {
  const record = { ...command, status: "queued" as const };
  await redis.hset(keys.commands, command.id, JSON.stringify(record));
  await redis.hset(keys.commandMeta(command.id), "v", 1, "host", hostId, "status", "queued", "next_seq", 0);
  await redis.publish(keys.hostChannel(hostId), JSON.stringify({ kind: "deliver", node: "attacker", command: record }));
}

/** The command's `command_finished` as a browser sees it. */
async function finished(commandId: string): Promise<{ status: string; reason?: string; exit_code: number | null }> {
  const frame = await browser.next("command_finished", (f) => f.payload.command_id === commandId, 20_000);
  return frame.payload;
}

const FRESH_ID = () => crypto.randomUUID();

// ---------------------------------------------------------------------------------------------

let hostA: string;
let agentA: AgentProcess;

test("GET /api/signing-keys lists the stack's key with the key_id an agent derives; a genuine command runs", async () => {
  const res = await request(`${stack.api.url}/api/signing-keys`);
  const { keys: listed } = res.json<{ keys: { key_id: string; public_key: string }[] }>();
  const ours = createPrivateKey(stack.env.COMMAND_SIGNING_KEY!);
  expect(listed).toEqual([{ key_id: signingKeyId(ours), public_key: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----/) }]);
  expect(JSON.stringify(listed)).not.toContain("PRIVATE");

  const a = await prepareAgent("signed-a");
  hostA = a.hostId;
  agentA = await startAgent(a.args, hostA);
  const cmd = await dispatch(hostA, "mark", ["genuine-1"]);
  expect(cmd).toMatchObject({ requested_by: { type: "user", name: "admin" }, key_id: listed[0]!.key_id });
  expect(cmd.expires_at).toBe(cmd.created_at + 3_600_000);
  expect(await finished(cmd.id)).toMatchObject({ status: "succeeded", exit_code: 0 });
  expect(runs()).toEqual(["genuine-1"]);
  // The stored record carries what was signed; the private key is nowhere in Redis.
  expect(await stored(cmd.id)).toMatchObject({ signature: cmd.signature, issued_at: cmd.issued_at });
  const everything = JSON.stringify(await redis.hgetall(keys.commands));
  expect(everything).not.toContain(stack.env.COMMAND_SIGNING_KEY!.split("\n")[1]!);
});

test("a browser's dispatch is signed by the hub that takes it, and runs", async () => {
  browser.send({ type: "dispatch", payload: { host_id: hostA, command: "mark", args: ["via-hub"] } });
  const queued = await browser.next("command_queued", (f) => f.payload.command.args[0] === "via-hub");
  expect(queued.payload.command).toMatchObject({ requested_by: { type: "user", name: "admin" }, signature: expect.any(String) });
  expect(await finished(queued.payload.command.id)).toMatchObject({ status: "succeeded" });
  expect(runs()).toEqual(["genuine-1", "via-hub"]);
});

test("attack: a command record written straight into Redis, unsigned or signed with the attacker's key → bad_signature, nothing runs", async () => {
  const before = runs();
  const unsigned: Command = {
    id: FRESH_ID(),
    host_id: hostA,
    command: "mark",
    args: ["forged-unsigned"],
    status: "queued",
    created_at: Date.now(),
    exit_code: null,
  };
  await inject(hostA, unsigned);
  expect(await finished(unsigned.id)).toMatchObject({ status: "rejected", reason: "bad_signature", exit_code: null });

  // The attacker signs with its own key and claims the server's key id.
  const mine = generateKeyPairSync("ed25519").privateKey;
  const real = await stored((await redis.hkeys(keys.commands))[0]!);
  const forged = { ...unsigned, id: FRESH_ID(), args: ["forged-signed"], issued_at: Date.now(), expires_at: Date.now() + 60_000 };
  const requested_by = { type: "user" as const, id: "attacker", name: "admin" };
  const signature = signCommandFields(mine, { ...forged, command_id: forged.id, requested_by_id: requested_by.id });
  await inject(hostA, { ...forged, requested_by, key_id: real.key_id!, signature });
  expect(await finished(forged.id)).toMatchObject({ status: "rejected", reason: "bad_signature" });
  expect(runs()).toEqual(before);
  await agentA.waitForLine(new RegExp(`warn command_rejected command_id=${forged.id} reason=bad_signature`));
});

test("attack: one byte of a queued genuine command changed in Redis → bad_signature when its host comes online, nothing runs", async () => {
  const b = await prepareAgent("signed-b");
  const genuine = await dispatch(b.hostId, "mark", ["tampered-a"]); // host offline: it waits queued
  const record = await queuedRecord(genuine.id);
  await redis.hset(keys.commands, genuine.id, JSON.stringify({ ...record, args: ["tampered-b"] }));
  await startAgent(b.args, b.hostId);
  expect(await finished(genuine.id)).toMatchObject({ status: "rejected", reason: "bad_signature" });

  const other = await dispatch(b.hostId, "mark", ["tampered-c"]);
  expect(await finished(other.id)).toMatchObject({ status: "succeeded" }); // the barrier: later, genuine, runs
  expect(runs()).not.toContain("tampered-a");
  expect(runs()).not.toContain("tampered-b");
});

test("attack: a genuine command replayed after it ran → answered with its recorded result, never run again", async () => {
  const genuine = await dispatch(hostA, "mark", ["replay-me"]);
  expect(await finished(genuine.id)).toMatchObject({ status: "succeeded" });
  const record = await stored(genuine.id);
  await inject(hostA, record);
  expect(await finished(genuine.id)).toMatchObject({ status: "succeeded", exit_code: 0 });
  await agentA.waitForLine(new RegExp(`info command_duplicate command_id=${genuine.id} state=finished`));
  expect(runs().filter((r) => r === "replay-me")).toEqual(["replay-me"]);
});

test("attack: a genuine command for another host sent to this one → wrong_host (host_id rewritten → bad_signature)", async () => {
  const { host: c } = await createHost(stack.api.url, cookie, "signed-c"); // no agent: commands wait
  const genuine = await dispatch(c.id, "mark", ["other-host"]);
  await inject(hostA, await queuedRecord(genuine.id));
  expect(await finished(genuine.id)).toMatchObject({ status: "rejected", reason: "wrong_host" });

  const genuine2 = await dispatch(c.id, "mark", ["other-host-2"]);
  await inject(hostA, { ...(await queuedRecord(genuine2.id)), host_id: hostA });
  expect(await finished(genuine2.id)).toMatchObject({ status: "rejected", reason: "bad_signature" });
  expect(runs()).not.toContain("other-host");
  expect(runs()).not.toContain("other-host-2");
});

test("attack: a genuine but old command (expired past the 5 min skew) → expired, nothing runs", async () => {
  // As if captured an hour ago: signed with the stack's real key, which the test (not the attacker) holds.
  const key = createPrivateKey(stack.env.COMMAND_SIGNING_KEY!);
  const issued_at = Date.now() - 2 * 3_600_000;
  const old = {
    id: FRESH_ID(),
    host_id: hostA,
    command: "mark",
    args: ["too-old"],
    status: "queued" as const,
    created_at: issued_at,
    exit_code: null,
    issued_at,
    expires_at: issued_at + 3_600_000,
    requested_by: { type: "user" as const, id: "u-1", name: "admin" },
    key_id: signingKeyId(key),
  };
  const signature = signCommandFields(key, { ...old, command_id: old.id, requested_by_id: old.requested_by.id });
  await inject(hostA, { ...old, signature });
  expect(await finished(old.id)).toMatchObject({ status: "rejected", reason: "expired" });
  expect(runs()).not.toContain("too-old");
});

test("attack: a signed allow-listed tail asked for the agent's own token file → rejected, no output", async () => {
  const d = await prepareAgent("signed-d");
  await startAgent(d.args, d.hostId);
  const cmd = await dispatch(d.hostId, "tail-log", ["3", d.tokenFile]);
  const end = await finished(cmd.id);
  expect(end).toMatchObject({ status: "rejected", reason: expect.stringContaining("one of the agent's own files") });
  const res = await apiCall(stack.api.url, cookie, "GET", `/api/commands/${cmd.id}`);
  expect(res.json<{ output: unknown[] }>().output).toEqual([]);
  // An allowed file reads fine, through the same template.
  const ok = await dispatch(d.hostId, "tail-log", ["1", runsLog]);
  expect(await finished(ok.id)).toMatchObject({ status: "succeeded" });
});

test("an agent without a server key warns once at start that commands are not verified", async () => {
  const e = await prepareAgent("unsigned-e", false);
  const agent = await startAgent(e.args, e.hostId);
  const barrier = await dispatch(e.hostId, "mark", ["unverified-ok"]);
  expect(await finished(barrier.id)).toMatchObject({ status: "succeeded" });
  expect(agent.lines().filter((l) => / warn commands_not_verified /.test(l))).toHaveLength(1);
  expect(agentA.lines().filter((l) => /commands_not_verified/.test(l))).toHaveLength(0);
});
