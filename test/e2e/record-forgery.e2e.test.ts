/**
 * Issue 13, points 3 and 6: records Redis cannot forge, against a real stack (api, hub, worker as
 * child processes, a throwaway Redis) and a real agent process. The attacker reads and writes
 * Redis with a raw client and holds none of the services' secrets. Every record it adds, changes
 * or copies — a user, a role, a host token binding, an API token, a session — is treated as
 * absent: the same 401 as no record, the reason only in the service's log (once per record) and
 * in `tether_forged_records_total{kind}` on its ops listener. Genuine records keep working, and
 * records from before MACs are sealed once, at the first start of an api that has them.
 */
import { createHash, randomBytes, randomUUID, scryptSync } from "node:crypto";
import path from "node:path";
import type { Redis } from "ioredis";
import { createKeys } from "../../packages/core/src/keys";
import {
  UpgradeRejectedError,
  apiCall,
  connectAgent,
  connectBrowser,
  connectRegisteredAgent,
  createHost,
  expectUpgradeStatus,
  login,
  request,
  type BrowserSocket,
} from "../support/clients";
import { freePort } from "../support/ports";
import { startService, startStack, type ServiceProcess, type Stack } from "../support/processes";
import { closeClient, newRedisClient } from "../support/redis";
import { agentTempDir, spawnAgentProcess, type AgentProcess } from "./agent-process";
import { scrape } from "./ops-prometheus";

let stack: Stack;
let hub: ServiceProcess;
let admin: string;
let adminId: string;
let redis: Redis;
let keys: ReturnType<typeof createKeys>;
let tmp: ReturnType<typeof agentTempDir>;
const agents: AgentProcess[] = [];
const sockets: BrowserSocket[] = [];
const extra: ServiceProcess[] = [];

beforeAll(async () => {
  tmp = agentTempDir();
  stack = await startStack({ hubs: 1 });
  hub = stack.hubs[0]!;
  admin = await login(stack.api.url, stack.admin.username, stack.admin.password);
  adminId = (await apiCall(stack.api.url, admin, "GET", "/api/session")).json<{ user: { id: string } }>().user.id;
  redis = newRedisClient(stack.redis.url);
  keys = createKeys(stack.redis.prefix);
});

afterAll(async () => {
  for (const agent of agents) agent.signal("SIGKILL");
  await Promise.all(agents.map((a) => a.waitForExit().catch(() => undefined)));
  for (const s of sockets) s.ws.terminate();
  await Promise.all(extra.map((s) => s.stop()));
  if (redis) await closeClient(redis);
  await stack?.stop();
  tmp?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** What the attacker computes for a password it chose: the product's own scrypt parameters. */
function passwordHash(password: string): { hash: string; salt: string } {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return { hash: hash.toString("base64"), salt: salt.toString("base64") };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** `tether_forged_records_total{kind}` on a service's ops listener. */
async function forged(service: ServiceProcess, kind: string): Promise<number> {
  return (await scrape(service.opsUrl)).sum("tether_forged_records_total", { kind });
}

/** The service's log lines saying it refused this record (for this reason). */
function refusals(service: ServiceProcess, kind: string, ref: string, reason?: string): string[] {
  const head = `forged record refused: ${kind} ${ref} (${reason ?? ""}`;
  return service.lines().filter((l) => l.includes(head));
}

/** Waits for the service to log that it refused this record for this reason. */
function refusal(service: ServiceProcess, kind: string, ref: string, reason: string): Promise<string> {
  return service.waitForLine((l) => l.includes(`forged record refused: ${kind} ${ref} (${reason})`));
}

/** A user made the genuine way, logged in. */
async function genuineUser(username: string, role: "viewer" | "operator"): Promise<{ id: string; cookie: string; password: string }> {
  const password = `pw-${randomBytes(6).toString("hex")}`;
  const res = await apiCall(stack.api.url, admin, "POST", "/api/users", { username, password, role });
  expect(res.status).toBe(201);
  const id = res.json<{ user: { id: string } }>().user.id;
  return { id, cookie: await login(stack.api.url, username, password), password };
}

/** Plants a user record, with its indexes, the way the user store writes one (without a valid MAC). */
async function plantUser(k: ReturnType<typeof createKeys>, record: Record<string, unknown>): Promise<void> {
  await redis.hset(k.userRecords, String(record.id), JSON.stringify(record));
  await redis.hset(k.usernames, String(record.username), String(record.id));
  if (record.role === "admin") await redis.sadd(k.admins, String(record.id));
}

/** The session id inside a `tether.sid=s%3A<sid>.<signature>` cookie pair. */
function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1));
  return value.slice(2, value.lastIndexOf("."));
}

const bearer = (url: string, token: string) => request(url, { headers: { Authorization: `Bearer ${token}` } });

/** A browser upgrade's status for this cookie. */
const browserUpgrade = (cookie: string) => expectUpgradeStatus(hub.wsUrl, { Cookie: cookie, Origin: stack.origin });

/** The agent's argv for a token (in a file, never in argv). */
function agentArgs(name: string, token: string): string[] {
  const tokenFile = tmp.file(`${name}-${randomBytes(3).toString("hex")}.token`, `${token}\n`);
  const state = path.join(tmp.dir, `${name}-${randomBytes(3).toString("hex")}.state.json`);
  return ["--url", hub.wsUrl, "--token-file", tokenFile, "--state-file", state, "--hostname", `${name}.example`];
}

function spawnAgent(args: string[]): AgentProcess {
  const agent = spawnAgentProcess(args);
  agents.push(agent);
  return agent;
}

async function hostStatus(id: string): Promise<string> {
  const res = await apiCall(stack.api.url, admin, "GET", `/api/hosts/${id}`);
  expect(res.status).toBe(200);
  return res.json<{ host: { status: string } }>().host.status;
}

// ---------------------------------------------------------------------------------------------

test("(a) a user record added by hand, with a password the attacker knows, logs in no one: 401, logged once, counted", async () => {
  const password = "attacker-knows-this";
  const mallory = { id: randomUUID(), username: "mallory", role: "admin", teams: null, ...passwordHash(password), created_at: Date.now() };
  await plantUser(keys, mallory);
  const before = await forged(stack.api, "user");

  const first = await apiCall(stack.api.url, undefined, "POST", "/api/session", { username: "mallory", password });
  expect(first.status).toBe(401);
  expect(first.json()).toMatchObject({ error: { code: "bad_credentials" } });
  // The same answer as a username that does not exist at all: the attacker learns nothing more.
  const none = await apiCall(stack.api.url, undefined, "POST", "/api/session", { username: "nobody", password });
  expect(none.status).toBe(401);
  expect(none.json()).toEqual(first.json());
  const line = await refusal(stack.api, "user", mallory.id, "missing MAC");
  expect(line).not.toContain(password);
  expect(line).not.toContain(mallory.hash);

  // Again, now with a MAC-shaped value copied from a genuine record: still absent ("wrong MAC").
  const genuineMac = (JSON.parse((await redis.hget(keys.userRecords, adminId))!) as { mac: string }).mac;
  await redis.hset(keys.userRecords, mallory.id, JSON.stringify({ ...mallory, mac: genuineMac }));
  expect((await apiCall(stack.api.url, undefined, "POST", "/api/session", { username: "mallory", password })).status).toBe(401);
  await refusal(stack.api, "user", mallory.id, "wrong MAC");
  expect((await apiCall(stack.api.url, undefined, "POST", "/api/session", { username: "mallory", password })).status).toBe(401);

  // Not listed either; each refusal counted, each record and reason logged once (the list's
  // refusal of the admin-copied record is the barrier: logged after the last login's).
  const users = (await apiCall(stack.api.url, admin, "GET", "/api/users")).json<{ users: { username: string }[] }>().users;
  expect(users.map((u) => u.username)).toEqual(["admin"]);
  expect(await forged(stack.api, "user")).toBeGreaterThanOrEqual(before + 4);
  expect(refusals(stack.api, "user", mallory.id, "missing MAC")).toHaveLength(1);
  expect(refusals(stack.api, "user", mallory.id, "wrong MAC")).toHaveLength(1);
  await redis.hdel(keys.userRecords, mallory.id);
  await redis.hdel(keys.usernames, "mallory");
  await redis.srem(keys.admins, mallory.id);
});

let hostA: { id: string; token: string };
let hostB: { id: string; token: string };

test("(b) a viewer's role flipped to admin in Redis: the next request, a new upgrade and the open socket get no admin rights", async () => {
  const vera = await genuineUser("vera", "viewer");
  const b = await createHost(stack.api.url, admin, "forgery-b");
  hostB = { id: b.host.id, token: b.token };
  const socket = await connectBrowser(hub.wsUrl, vera.cookie, { origin: stack.origin });
  sockets.push(socket);
  expect((await apiCall(stack.api.url, vera.cookie, "GET", "/api/session")).json()).toMatchObject({ user: { role: "viewer" } });
  const apiBefore = await forged(stack.api, "user");
  const hubBefore = await forged(hub, "user");

  // The attacker keeps the record's MAC and changes only the role (and teams: admins have none).
  const record = JSON.parse((await redis.hget(keys.userRecords, vera.id))!) as Record<string, unknown>;
  await redis.hset(keys.userRecords, vera.id, JSON.stringify({ ...record, role: "admin", teams: null }));
  await redis.sadd(keys.admins, vera.id);

  // REST: the record is absent, so the session logs in no one (401), admin calls included.
  expect((await apiCall(stack.api.url, vera.cookie, "GET", "/api/session")).status).toBe(401);
  const made = await apiCall(stack.api.url, vera.cookie, "POST", "/api/users", {
    username: "eve",
    password: "long-enough-1",
    role: "admin",
  });
  expect(made.status).toBe(401);
  expect((await apiCall(stack.api.url, vera.cookie, "GET", "/api/users")).status).toBe(401);
  await refusal(stack.api, "user", vera.id, "wrong MAC");
  expect(await forged(stack.api, "user")).toBeGreaterThanOrEqual(apiBefore + 3);

  // A new browser upgrade: 401, as for a deleted user.
  expect(await browserUpgrade(vera.cookie)).toBe(401);
  await refusal(hub, "user", vera.id, "wrong MAC");
  expect(await forged(hub, "user")).toBeGreaterThanOrEqual(hubBefore + 1);

  // The socket opened before keeps the viewer's rights it had: dispatch is still forbidden.
  socket.send({ type: "dispatch", payload: { host_id: hostB.id, command: "uptime" } });
  const error = await socket.next("error");
  expect(error.payload).toMatchObject({ code: "forbidden" });
  // And when the attacker also rings the "rights changed" bell, it closes and cannot come back.
  await redis.publish(keys.controlChannel, JSON.stringify({ kind: "user_changed", node: "attacker", user_id: vera.id }));
  expect((await socket.waitClosed()).code).toBe(4403);
  expect(await browserUpgrade(vera.cookie)).toBe(401);
  expect(refusals(hub, "user", vera.id, "wrong MAC")).toHaveLength(1);

  // The admin's genuine record, MAC and all, copied under vera's id: bound to another id, still absent.
  await redis.hset(keys.userRecords, vera.id, (await redis.hget(keys.userRecords, adminId))!);
  expect((await apiCall(stack.api.url, vera.cookie, "GET", "/api/users")).status).toBe(401);
  expect(await browserUpgrade(vera.cookie)).toBe(401);
  await refusal(stack.api, "user", vera.id, "bound to another id");
  await refusal(hub, "user", vera.id, "bound to another id");
  expect((await apiCall(stack.api.url, admin, "GET", "/api/users")).json<{ users: { username: string }[] }>().users).toHaveLength(1);
});

test("(c) host A's token hash copied onto host B, or the token index pointed at B: the real agent with A's token cannot connect as B", async () => {
  const a = await createHost(stack.api.url, admin, "forgery-a");
  hostA = { id: a.host.id, token: a.token };
  const hashA = sha256(hostA.token);
  const hashB = sha256(hostB.token);
  // Genuine first: the real agent with A's token registers as A.
  const args = agentArgs("forgery-a", hostA.token);
  const genuine = spawnAgent(args);
  await genuine.waitForLine(new RegExp(` info registered host_id=${hostA.id}$`), 20_000);
  genuine.signal("SIGTERM");
  await genuine.waitForExit(15_000);
  const before = await forged(hub, "host_token");

  // Point A's token at B, and write A's hash into B's private state, as the host store would.
  await redis.hset(keys.tokens, hashA, hostB.id);
  await redis.hset(keys.hostMeta(hostB.id), "token", hashA);
  const attempt = spawnAgent(agentArgs("forgery-a", hostA.token));
  const exit = await attempt.waitForExit(20_000);
  expect(exit.code).toBe(3);
  await attempt.waitForLine(/token rejected \(HTTP 401\); not reconnecting/);
  expect(attempt.lines().join("\n")).not.toMatch(/registered host_id/);
  const ref = `${hostB.id} ${hashA.slice(0, 8)}…`;
  await refusal(hub, "host_token", ref, "wrong MAC");

  // With B's own MAC copied beside it too: still a MAC for another hash. And a binding added by
  // hand for a token the attacker made up: no MAC at all. Both exactly like an unknown token.
  await redis.hset(keys.tokenMacs, hashA, (await redis.hget(keys.tokenMacs, hashB))!);
  await expect(connectAgent(hub.wsUrl, hostA.token)).rejects.toMatchObject({ status: 401 });
  const made = `tth_${randomBytes(32).toString("base64url")}`;
  await redis.hset(keys.tokens, sha256(made), hostB.id);
  await expect(connectAgent(hub.wsUrl, made)).rejects.toBeInstanceOf(UpgradeRejectedError);
  await expect(connectAgent(hub.wsUrl, `tth_${randomBytes(32).toString("base64url")}`)).rejects.toMatchObject({ status: 401 });
  await refusal(hub, "host_token", `${hostB.id} ${sha256(made).slice(0, 8)}…`, "missing MAC");
  expect(await forged(hub, "host_token")).toBeGreaterThanOrEqual(before + 3);
  expect(refusals(hub, "host_token", ref, "wrong MAC")).toHaveLength(1);

  // B was never taken (A may still show online: its genuine agent left less than OFFLINE_TIMEOUT_MS
  // ago); B's genuine token is still B's once its state is put back.
  expect(await hostStatus(hostB.id)).toBe("offline");
  await redis.hdel(keys.tokens, sha256(made));
  await redis.hset(keys.hostMeta(hostB.id), "token", hashB);
  const { agent, hostId } = await connectRegisteredAgent(hub.wsUrl, hostB.token);
  expect(hostId).toBe(hostB.id);
  await agent.close();
});

test("(d) an API token record forged, or a genuine one's role raised: 401", async () => {
  const before = await forged(stack.api, "api_token");
  // Forged outright: a token the attacker made, owned by the admin, admin role, no expiry.
  const token = `tta_${randomBytes(32).toString("base64url")}`;
  const id = randomUUID();
  const record = { id, name: "backdoor", owner_id: adminId, role: "admin", hash: sha256(token), created_at: Date.now(), expires_at: null };
  await redis.hset(keys.apiTokens, id, JSON.stringify(record));
  await redis.hset(keys.apiTokenIndex, record.hash, id);
  await redis.sadd(keys.userApiTokens(adminId), id);
  const res = await bearer(`${stack.api.url}/api/hosts`, token);
  expect(res.status).toBe(401);
  expect(res.json()).toMatchObject({ error: { code: "unauthenticated" } });
  await refusal(stack.api, "api_token", id, "missing MAC");

  // A genuine viewer token of the admin's: works; with its role raised by hand: 401.
  const made = await apiCall(stack.api.url, admin, "POST", "/api/tokens", { name: "read-only", role: "viewer" });
  expect(made.status).toBe(201);
  const genuine = made.json<{ token: string; api_token: { id: string } }>();
  expect((await bearer(`${stack.api.url}/api/hosts`, genuine.token)).status).toBe(200);
  const stored = JSON.parse((await redis.hget(keys.apiTokens, genuine.api_token.id))!) as Record<string, unknown>;
  await redis.hset(keys.apiTokens, genuine.api_token.id, JSON.stringify({ ...stored, role: "admin" }));
  expect((await bearer(`${stack.api.url}/api/users`, genuine.token)).status).toBe(401);
  expect((await bearer(`${stack.api.url}/api/hosts`, genuine.token)).status).toBe(401);
  await refusal(stack.api, "api_token", genuine.api_token.id, "wrong MAC");
  // Neither shows in the admin's list; an API token never opens a socket anyway.
  const listed = (await apiCall(stack.api.url, admin, "GET", "/api/tokens")).json<{ api_tokens: { id: string }[] }>().api_tokens;
  expect(listed.map((t) => t.id)).not.toContain(id);
  expect(listed.map((t) => t.id)).not.toContain(genuine.api_token.id);
  expect(await forged(stack.api, "api_token")).toBeGreaterThanOrEqual(before + 4);
  await redis.hset(keys.apiTokens, genuine.api_token.id, JSON.stringify(stored));
  expect((await bearer(`${stack.api.url}/api/hosts`, genuine.token)).status).toBe(200);
});

test("(e) a session written for the admin into the session store: 401 at the api and at the hub upgrade", async () => {
  const otto = await genuineUser("otto", "viewer");
  const ottoSid = sidOf(otto.cookie);
  const adminSid = sidOf(admin);
  const apiBefore = await forged(stack.api, "session");
  const hubBefore = await forged(hub, "session");
  const own = JSON.parse((await redis.get(keys.session(ottoSid)))!) as Record<string, unknown>;
  expect(own).toMatchObject({ user: { id: otto.id, username: "otto" }, mac: expect.any(String) });

  // The attacker holds otto's genuine cookie and rewrites what its session says: now the admin.
  await redis.set(keys.session(ottoSid), JSON.stringify({ cookie: own.cookie, user: { id: adminId, username: "admin" } }), "KEEPTTL");
  expect((await apiCall(stack.api.url, otto.cookie, "GET", "/api/session")).status).toBe(401);
  expect((await apiCall(stack.api.url, otto.cookie, "GET", "/api/users")).status).toBe(401);
  expect(await browserUpgrade(otto.cookie)).toBe(401);
  await refusal(stack.api, "session", `user ${adminId}`, "missing MAC");
  await refusal(hub, "session", `user ${adminId}`, "missing MAC");

  // The admin's own session record, MAC and all, copied under otto's session id: bound to another id.
  const adminSession = (await redis.get(keys.session(adminSid)))!;
  await redis.set(keys.session(ottoSid), adminSession, "KEEPTTL");
  expect((await apiCall(stack.api.url, otto.cookie, "GET", "/api/session")).status).toBe(401);
  expect(await browserUpgrade(otto.cookie)).toBe(401);
  await refusal(stack.api, "session", `user ${adminId}`, "wrong MAC");
  await refusal(hub, "session", `user ${adminId}`, "wrong MAC");
  expect(await forged(stack.api, "session")).toBeGreaterThanOrEqual(apiBefore + 3);
  expect(await forged(hub, "session")).toBeGreaterThanOrEqual(hubBefore + 2);

  // Put back as it was, otto's session is otto's again: viewer, not admin.
  await redis.set(keys.session(ottoSid), JSON.stringify(own), "KEEPTTL");
  expect((await apiCall(stack.api.url, otto.cookie, "GET", "/api/session")).json()).toMatchObject({ user: { role: "viewer" } });
});

test("(f) after all that, genuine records still work: the admin's session, socket, hosts and tokens", async () => {
  expect((await apiCall(stack.api.url, admin, "GET", "/api/session")).json()).toMatchObject({ user: { id: adminId, role: "admin" } });
  const socket = await connectBrowser(hub.wsUrl, admin, { origin: stack.origin });
  sockets.push(socket);
  // A fresh login, a fresh host and its agent, a fresh API token.
  const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  const c = await createHost(stack.api.url, cookie, "forgery-c");
  const { agent, hostId } = await connectRegisteredAgent(hub.wsUrl, c.token);
  expect(hostId).toBe(c.host.id);
  await socket.next("host_update", (f) => f.payload.host.id === c.host.id && f.payload.host.status === "online");
  await agent.close();
  const made = (await apiCall(stack.api.url, cookie, "POST", "/api/tokens", { name: "ci" })).json<{ token: string }>();
  expect((await bearer(`${stack.api.url}/api/users`, made.token)).status).toBe(200);
  // Host A's token rotated the genuine way (the attacker's binding of its old hash goes with it).
  const rotated = await apiCall(stack.api.url, cookie, "POST", `/api/hosts/${hostA.id}/token`);
  expect(rotated.status).toBe(200);
  const fresh = rotated.json<{ token: string }>().token;
  const again = await connectRegisteredAgent(hub.wsUrl, fresh);
  expect(again.hostId).toBe(hostA.id);
  await again.agent.close();
});

test("records from before MACs are sealed at the api's first start (one log line), and never again after", async () => {
  const prefix = stack.redis.newPrefix();
  const k = createKeys(prefix);
  // The old shapes, exactly as the previous version wrote them: no `mac`, no token MAC.
  const password = "olga-password-1";
  const olga = { id: randomUUID(), username: "olga", role: "operator", teams: ["default"], ...passwordHash(password), created_at: 1 };
  await plantUser(k, olga);
  const apiToken = `tta_${randomBytes(32).toString("base64url")}`;
  const tokenId = randomUUID();
  const tokenRecord = {
    id: tokenId,
    name: "old-ci",
    owner_id: olga.id,
    role: "viewer",
    hash: sha256(apiToken),
    created_at: 1,
    expires_at: null,
  };
  await redis.hset(k.apiTokens, tokenId, JSON.stringify(tokenRecord));
  await redis.hset(k.apiTokenIndex, tokenRecord.hash, tokenId);
  await redis.sadd(k.userApiTokens(olga.id), tokenId);
  const hostId = randomUUID();
  const hostToken = `tth_${randomBytes(32).toString("base64url")}`;
  await redis.hset(k.hosts, hostId, JSON.stringify({ id: hostId, name: "old-host", status: "offline", team_id: "default" }));
  await redis.hset(k.hostMeta(hostId), "v", 1, "epoch", 0, "node", "", "token", sha256(hostToken), "created_at", 1);
  await redis.hset(k.tokens, sha256(hostToken), hostId);
  await redis.hset(k.hostTeams, hostId, "default");

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = { ...stack.env, REDIS_PREFIX: prefix, ALLOWED_ORIGINS: `${stack.env.ALLOWED_ORIGINS},${origin}` };
  let api = await startService("api", { ...env, PORT: String(port) });
  extra.push(api);
  const line = await api.waitForLine(/records: added MACs to/);
  expect(line).toContain("records: added MACs to 1 users, 1 tokens, 1 hosts");
  const hub2 = await startService("hub", env);
  extra.push(hub2);

  // Each works as before: the login, the API token, the agent's token.
  const cookie = await login(api.url, "olga", password);
  expect((await apiCall(api.url, cookie, "GET", "/api/session")).json()).toMatchObject({ user: { id: olga.id, role: "operator" } });
  expect((await bearer(`${api.url}/api/hosts`, apiToken)).status).toBe(200);
  const { agent, hostId: registered } = await connectRegisteredAgent(hub2.wsUrl, hostToken);
  expect(registered).toBe(hostId);
  await agent.close();
  expect(await forged(api, "user")).toBe(0);

  // Once sealed, a record without a MAC can only have been planted: a restart seals nothing more.
  const late = { id: randomUUID(), username: "late", role: "admin", teams: null, ...passwordHash(password), created_at: 2 };
  await plantUser(k, late);
  await api.stop();
  api = await startService("api", { ...env, PORT: String(port) });
  extra.push(api);
  expect((await apiCall(api.url, undefined, "POST", "/api/session", { username: "late", password })).status).toBe(401);
  await refusal(api, "user", late.id, "missing MAC");
  expect(api.lines().join("\n")).not.toMatch(/records: added MACs/);
  // A v1 user planted now is not migrated into an admin either.
  await redis.hset(k.legacyUsers, "v1-eve", JSON.stringify({ id: randomUUID(), username: "v1-eve", ...passwordHash(password) }));
  await api.stop();
  api = await startService("api", { ...env, PORT: String(port) });
  extra.push(api);
  await refusal(api, "user", "v1:v1-eve", "missing MAC");
  expect((await apiCall(api.url, undefined, "POST", "/api/session", { username: "v1-eve", password })).status).toBe(401);
  expect(await login(api.url, "olga", password)).toMatch(/^tether\.sid=/);
});
