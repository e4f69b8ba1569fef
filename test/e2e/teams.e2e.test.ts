/**
 * Issue 12 / CONTRACT §4: teams, roles, API tokens, live rights and the audit log, tried as an
 * attacker would — api, two hubs and a worker as child processes over a real Redis. A viewer and
 * an operator of team A must learn nothing of team B; "did not arrive" is proved by a barrier (a
 * team-A event sent after the team-B one), never by waiting.
 */
import { CloseCode, ErrorCode } from "@tether/protocol";
import { startStack, type Stack } from "../support/processes";
import {
  apiCall,
  connectBrowser,
  connectRegisteredAgent,
  expectUpgradeStatus,
  login,
  request,
  type AgentSocket,
  type BrowserSocket,
  type Frame,
} from "../support/clients";

let stack: Stack;
let api: string;
let admin: string;
let hubA: Stack["hubs"][number];
let hubB: Stack["hubs"][number];
const ids = { teamA: "", teamB: "", hostA: "", hostB: "", hostBToken: "", viewer: "", operator: "" };
let agentA: AgentSocket;
let agentB: AgentSocket;
let viewerCookie: string;
let operatorCookie: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes are what the tests assert
type Json = any;
const call = async (cookie: string | undefined, method: string, path: string, body?: unknown) => {
  const res = await apiCall(api, cookie, method, path, body);
  return { status: res.status, body: res.text ? res.json<Json>() : null };
};
/** A REST call with an API token only: no cookie, no Origin. */
const bearer = async (token: string, method: string, path: string, body?: unknown) => {
  const res = await request(`${api}${path}`, { method, headers: { Authorization: `Bearer ${token}` }, body });
  return { status: res.status, body: res.text ? res.json<Json>() : null };
};
const mentions = (f: Frame, id: string) => JSON.stringify(f).includes(id);

async function browser(cookie: string, hub = hubB, after?: string): Promise<BrowserSocket> {
  return connectBrowser(hub.wsUrl, cookie, { origin: stack.origin, ...(after ? { after } : {}) });
}

/** A team-A heartbeat every socket of team A must see: the barrier behind anything sent before it. */
async function barrier(...sockets: BrowserSocket[]): Promise<void> {
  const marker = Math.random();
  agentA.send({ type: "heartbeat", payload: { metrics: { marker } } });
  for (const s of sockets) await s.next((f) => f.type === "host_update" && f.payload.host.metrics?.marker === marker);
}

beforeAll(async () => {
  stack = await startStack({ hubs: 2 });
  [hubA, hubB] = stack.hubs as [Stack["hubs"][number], Stack["hubs"][number]];
  api = stack.api.url;
  admin = await login(api, stack.admin.username, stack.admin.password);
  ids.teamA = (await call(admin, "POST", "/api/teams", { name: "Team A" })).body.team.id;
  ids.teamB = (await call(admin, "POST", "/api/teams", { name: "Team B" })).body.team.id;
  const a = await call(admin, "POST", "/api/hosts", { name: "a1", team_id: ids.teamA });
  const b = await call(admin, "POST", "/api/hosts", { name: "b1", team_id: ids.teamB });
  ids.hostA = a.body.host.id;
  ids.hostB = b.body.host.id;
  ids.hostBToken = b.body.token;
  agentA = (await connectRegisteredAgent(hubA.wsUrl, a.body.token, { hostname: "a1" })).agent;
  agentB = (await connectRegisteredAgent(hubA.wsUrl, b.body.token, { hostname: "b1" })).agent;
  const v = await call(admin, "POST", "/api/users", { username: "vera", password: "viewer-pass-1", role: "viewer", teams: [ids.teamA] });
  const o = await call(admin, "POST", "/api/users", {
    username: "otto",
    password: "operator-pass-1",
    role: "operator",
    teams: [ids.teamA],
  });
  ids.viewer = v.body.user.id;
  ids.operator = o.body.user.id;
  viewerCookie = await login(api, "vera", "viewer-pass-1");
  operatorCookie = await login(api, "otto", "operator-pass-1");
}, 120_000);

afterAll(async () => {
  await agentA?.close();
  await agentB?.close();
  await stack?.stop();
});

test("users, teams and hosts have the §4 shapes; bad input is a 400 naming the field and changes nothing", async () => {
  expect(ids.teamA).toBe("team-a");
  const users = (await call(admin, "GET", "/api/users")).body.users;
  expect(users).toEqual(
    expect.arrayContaining([
      { id: ids.viewer, username: "vera", role: "viewer", teams: ["team-a"] },
      { id: expect.any(String), username: "admin", role: "admin", teams: null },
    ]),
  );
  expect((await call(viewerCookie, "GET", "/api/teams")).body.teams.map((t: Json) => t.id)).toEqual(["default", "team-a", "team-b"]);
  expect((await call(admin, "POST", "/api/users", { username: "bad name", password: "long-enough", role: "viewer" })).status).toBe(400);
  const ghostTeam = await call(admin, "POST", "/api/users", {
    username: "ghost",
    password: "long-enough",
    role: "viewer",
    teams: ["nope"],
  });
  expect(ghostTeam).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("teams") } } });
  expect((await call(admin, "POST", "/api/users", { username: "vera", password: "long-enough", role: "viewer" })).status).toBe(409);
  expect((await call(admin, "GET", "/api/users")).body.users).toHaveLength(users.length);
  expect((await call(admin, "GET", `/api/hosts/${ids.hostA}`)).body.host.team_id).toBe("team-a");
});

test("the role decides: a viewer and an operator get 403 {error: forbidden} for what their role does not allow", async () => {
  for (const cookie of [viewerCookie, operatorCookie]) {
    expect(await call(cookie, "GET", "/api/users")).toEqual({ status: 403, body: { error: "forbidden" } });
    expect(await call(cookie, "GET", "/api/audit")).toEqual({ status: 403, body: { error: "forbidden" } });
    expect((await call(cookie, "POST", "/api/hosts", { name: "sneaky" })).status).toBe(403);
    expect((await call(cookie, "POST", "/api/teams", { name: "mine" })).status).toBe(403);
    expect((await call(cookie, "DELETE", `/api/hosts/${ids.hostA}`)).status).toBe(403);
    expect((await call(cookie, "POST", `/api/hosts/${ids.hostA}/token`)).status).toBe(403);
    expect((await call(cookie, "PATCH", `/api/hosts/${ids.hostA}`, { team_id: "team-b" })).status).toBe(403);
  }
  expect(await call(viewerCookie, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" })).toEqual({
    status: 403,
    body: { error: "forbidden" },
  });
  expect((await call(admin, "GET", `/api/hosts/${ids.hostA}`)).body.host.team_id).toBe("team-a");
});

test("REST: a team-B host does not exist for team A — list, host, history, commands, dispatch, cancel all 404", async () => {
  const cmdB = (await call(admin, "POST", `/api/hosts/${ids.hostB}/commands`, { command: "secret-b" })).body.command;
  expect(cmdB.requested_by).toEqual({ type: "user", id: expect.any(String), name: "admin" });
  for (const cookie of [viewerCookie, operatorCookie]) {
    const hosts = (await call(cookie, "GET", "/api/hosts")).body.hosts;
    expect(hosts.map((h: Json) => h.id)).toEqual([ids.hostA]);
    expect((await call(cookie, "GET", `/api/hosts/${ids.hostB}`)).status).toBe(404);
    expect((await call(cookie, "GET", `/api/hosts/${ids.hostB}/commands`)).status).toBe(404);
    expect((await call(cookie, "GET", `/api/commands/${cmdB.id}`)).status).toBe(404);
    expect((await call(cookie, "POST", `/api/commands/${cmdB.id}/cancel`)).status).toBe(404);
    expect((await call(cookie, "POST", `/api/hosts/${ids.hostB}/commands`, { command: "x" })).status).toBe(404);
  }
  // An operator's dispatch on its own team works and names it.
  const mine = await call(operatorCookie, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" });
  expect(mine.status).toBe(202);
  expect(mine.body.command.requested_by).toEqual({ type: "user", id: ids.operator, name: "otto" });
  expect((await call(viewerCookie, "GET", `/api/commands/${mine.body.command.id}`)).status).toBe(200);
  expect((await call(admin, "GET", `/api/commands/${cmdB.id}`)).body.command.status).not.toBe("cancelled");
});

test("WebSocket: snapshot, live host_update and command_output of team B never reach team A (barrier), replay neither", async () => {
  const viewer = await browser(viewerCookie, hubB);
  const operator = await browser(operatorCookie, hubA);
  const watcher = await browser(admin, hubB);
  for (const s of [viewer, operator]) {
    const hosts = await s.next("hosts");
    expect(hosts.payload.hosts.map((h) => h.id)).toEqual([ids.hostA]);
  }
  const snapshotId = (await watcher.next("hosts")).id;
  // Team B: a heartbeat and a command's output, both seen by the admin...
  agentB.send({ type: "heartbeat", payload: { metrics: { b: 1 } } });
  await call(admin, "POST", `/api/hosts/${ids.hostB}/commands`, { command: "b-cmd" });
  const cmdFrame = await agentB.next((f) => f.type === "command" && f.payload.command === "b-cmd");
  const cmdB = cmdFrame.payload.command_id as string;
  agentB.send({ type: "output", payload: { command_id: cmdB, seq: 0, stream: "stdout", data: "team-b secret" } });
  await watcher.next((f) => f.type === "command_output" && f.payload.command_id === cmdB);
  // ...then team A's barrier: once it arrived, anything of team B sent before it would have too.
  await barrier(viewer, operator);
  for (const s of [viewer, operator]) {
    expect(s.frames.filter((f) => mentions(f, ids.hostB) || mentions(f, cmdB))).toEqual([]);
  }
  // The operator dispatches on team A over the socket; team B is unknown, the viewer forbidden.
  operator.send({ type: "dispatch", payload: { host_id: ids.hostB, command: "x" } });
  expect((await operator.next("error")).payload.code).toBe(ErrorCode.UNKNOWN_HOST);
  operator.send({ type: "cancel", payload: { command_id: cmdB } });
  expect((await operator.next("error")).payload.code).toBe(ErrorCode.UNKNOWN_COMMAND);
  viewer.send({ type: "dispatch", payload: { host_id: ids.hostA, command: "uptime" } });
  expect((await viewer.next("error")).payload.code).toBe(ErrorCode.FORBIDDEN);
  operator.send({ type: "dispatch", payload: { host_id: ids.hostA, command: "a-cmd" } });
  const queued = await operator.next("command_queued");
  expect(queued.payload.command.requested_by).toEqual({ type: "user", id: ids.operator, name: "otto" });
  // Replay from before all of it: team A's events, none of team B's.
  const replay = await browser(viewerCookie, hubA, snapshotId);
  await barrier(replay);
  expect(replay.frames.some((f) => f.type === "command_queued" && f.payload.command.command === "a-cmd")).toBe(true);
  expect(replay.frames.filter((f) => mentions(f, ids.hostB) || mentions(f, cmdB))).toEqual([]);
  expect(replay.frames.some((f) => f.type === "hosts")).toBe(false);
  // /api/events: the same policy.
  const events = (await call(viewerCookie, "GET", `/api/events?after=${snapshotId}`)).body.events as Frame[];
  expect(events.length).toBeGreaterThan(0);
  expect(events.filter((f) => mentions(f, ids.hostB))).toEqual([]);
  const all = (await call(admin, "GET", `/api/events?after=${snapshotId}`)).body.events as Frame[];
  expect(all.some((f) => mentions(f, ids.hostB))).toBe(true);
  for (const s of [viewer, operator, watcher, replay]) await s.close();
});

test("a host moved from team A to B vanishes for team A (host_removed), the admin sees only its update", async () => {
  const moved = await call(admin, "POST", "/api/hosts", { name: "mover", team_id: ids.teamA });
  const hostId = moved.body.host.id as string;
  const viewer = await browser(viewerCookie);
  const watcher = await browser(admin);
  expect((await viewer.next("hosts")).payload.hosts.map((h) => h.id)).toContain(hostId);
  await watcher.next("hosts");
  expect((await call(admin, "PATCH", `/api/hosts/${hostId}`, { team_id: ids.teamB })).body.host.team_id).toBe("team-b");
  await viewer.next((f) => f.type === "host_removed" && f.payload.host_id === hostId);
  await watcher.next((f) => f.type === "host_update" && f.payload.host.id === hostId && f.payload.host.team_id === "team-b");
  await barrier(watcher);
  expect(watcher.frames.filter((f) => f.type === "host_removed")).toEqual([]);
  expect((await call(viewerCookie, "GET", `/api/hosts/${hostId}`)).status).toBe(404);
  await viewer.close();
  await watcher.close();
});

test("an online agent's host renamed and moved by the API keeps its new name and team through the agent's next heartbeats", async () => {
  const made = await call(admin, "POST", "/api/hosts", { name: "beater", team_id: ids.teamA });
  const hostId = made.body.host.id as string;
  const { agent } = await connectRegisteredAgent(hubA.wsUrl, made.body.token, { hostname: "beater" });
  const watcher = await browser(admin, hubB);
  await watcher.next("hosts");
  const beat = async (n: number) => {
    agent.send({ type: "heartbeat", payload: { metrics: { n } } });
    return (await watcher.next((f) => f.type === "host_update" && f.payload.host.id === hostId && f.payload.host.metrics?.n === n)).payload
      .host;
  };
  // The hub's own copy of the host is made by these (each heartbeat after the first writes from it).
  await beat(1);
  await beat(2);
  const patched = await call(admin, "PATCH", `/api/hosts/${hostId}`, { name: "beater-renamed", team_id: ids.teamB });
  expect(patched.body.host).toMatchObject({ name: "beater-renamed", team_id: "team-b", status: "online" });
  expect(await beat(3)).toMatchObject({ name: "beater-renamed", team_id: "team-b", status: "online", metrics: { n: 3 } });
  expect(await beat(4)).toMatchObject({ name: "beater-renamed", team_id: "team-b", metrics: { n: 4 } });
  expect((await call(admin, "GET", `/api/hosts/${hostId}`)).body.host).toMatchObject({
    name: "beater-renamed",
    team_id: "team-b",
    metrics: { n: 4 },
  });
  await agent.close();
  await watcher.close();
});

test("API tokens: at most the owner's role, Bearer on REST only (no cookie, no Origin), never a socket; an agent token never REST", async () => {
  expect((await call(viewerCookie, "POST", "/api/tokens", { name: "up", role: "operator" })).status).toBe(403);
  const made = await call(operatorCookie, "POST", "/api/tokens", { name: "ci" });
  expect(made.status).toBe(201);
  expect(made.body.api_token).toMatchObject({ name: "ci", role: "operator", expires_at: null });
  const token = made.body.token as string;
  expect((await bearer(token, "GET", "/api/hosts")).body.hosts.map((h: Json) => h.id)).not.toContain(ids.hostB);
  expect((await bearer(token, "GET", `/api/hosts/${ids.hostB}`)).status).toBe(404);
  const dispatched = await bearer(token, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" });
  expect(dispatched.status).toBe(202);
  expect(dispatched.body.command.requested_by).toEqual({ type: "token", id: made.body.api_token.id, name: "ci" });
  // A token cannot mint tokens (a leak would make itself permanent), and is listed without its secret.
  expect((await bearer(token, "POST", "/api/tokens", { name: "child" })).status).toBe(403);
  const listed = (await call(operatorCookie, "GET", "/api/tokens")).body.api_tokens;
  expect(listed.map((t: Json) => t.id)).toEqual([made.body.api_token.id]);
  expect(JSON.stringify(listed)).not.toContain(token);
  expect((await call(viewerCookie, "DELETE", `/api/tokens/${made.body.api_token.id}`)).status).toBe(404);
  // Never a WebSocket; and an agent token is no API token.
  expect(await expectUpgradeStatus(hubA.wsUrl, { Authorization: `Bearer ${token}` })).toBe(401);
  expect((await bearer(ids.hostBToken, "GET", "/api/hosts")).status).toBe(401);
  expect((await bearer("tta_not-a-token", "GET", "/api/hosts")).status).toBe(401);
  // The owner demoted: the token's rights drop with it, at once.
  expect((await call(admin, "PATCH", `/api/users/${ids.operator}`, { role: "viewer" })).status).toBe(200);
  expect(await bearer(token, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" })).toEqual({
    status: 403,
    body: { error: "forbidden" },
  });
  expect((await call(admin, "PATCH", `/api/users/${ids.operator}`, { role: "operator" })).status).toBe(200);
  expect((await bearer(token, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" })).status).toBe(202);
  expect((await call(operatorCookie, "DELETE", `/api/tokens/${made.body.api_token.id}`)).status).toBe(204);
  expect((await bearer(token, "GET", "/api/hosts")).status).toBe(401);
});

test("an API token with expires_at works until then and is refused from that moment; one already past is a 400", async () => {
  expect((await call(operatorCookie, "POST", "/api/tokens", { name: "late", expires_at: Date.now() - 1 })).status).toBe(400);
  const expiresAt = Date.now() + 1500;
  const made = await call(operatorCookie, "POST", "/api/tokens", { name: "short", expires_at: expiresAt });
  expect(made.status).toBe(201);
  expect(made.body.api_token).toMatchObject({ name: "short", expires_at: expiresAt });
  const token = made.body.token as string;
  expect((await bearer(token, "GET", "/api/hosts")).status).toBe(200);
  // The expiry is the event awaited here: the clock passing expires_at (same machine, same clock).
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 20));
  expect((await bearer(token, "GET", "/api/hosts")).status).toBe(401);
  expect((await bearer(token, "POST", `/api/hosts/${ids.hostA}/commands`, { command: "uptime" })).status).toBe(401);
  expect((await call(operatorCookie, "DELETE", `/api/tokens/${made.body.api_token.id}`)).status).toBe(204);
});

test("rights change live on every hub: changed → 4403 (reconnect gets the new rights), deleted → 4401, sessions and tokens dead", async () => {
  await call(admin, "POST", "/api/users", { username: "temp", password: "temp-pass-1", role: "operator", teams: [ids.teamA] });
  const cookie = await login(api, "temp", "temp-pass-1");
  const tempId = (await call(admin, "GET", "/api/users")).body.users.find((u: Json) => u.username === "temp").id as string;
  const token = (await call(cookie, "POST", "/api/tokens", { name: "t" })).body.token as string;
  const onA = await browser(cookie, hubA);
  const onB = await browser(cookie, hubB);
  await onA.next("hosts");
  await onB.next("hosts");
  expect((await call(admin, "PATCH", `/api/users/${tempId}`, { teams: [ids.teamB] })).body.user.teams).toEqual(["team-b"]);
  expect((await onA.waitClosed()).code).toBe(CloseCode.RIGHTS_CHANGED);
  expect((await onB.waitClosed()).code).toBe(CloseCode.RIGHTS_CHANGED);
  const again = await browser(cookie, hubA);
  const seen = (await again.next("hosts")).payload.hosts.map((h) => h.id);
  expect(seen).toContain(ids.hostB);
  expect(seen).not.toContain(ids.hostA);
  const other = await browser(cookie, hubB);
  await other.next("hosts");
  expect((await call(admin, "DELETE", `/api/users/${tempId}`)).status).toBe(204);
  expect((await again.waitClosed()).code).toBe(CloseCode.REVOKED);
  expect((await other.waitClosed()).code).toBe(CloseCode.REVOKED);
  expect((await call(cookie, "GET", "/api/hosts")).status).toBe(401);
  expect((await bearer(token, "GET", "/api/hosts")).status).toBe(401);
  expect(await expectUpgradeStatus(hubB.wsUrl, { Cookie: cookie, Origin: stack.origin })).toBe(401);
});

test("the last admin can be neither deleted nor demoted (409 last_admin)", async () => {
  const me = (await call(admin, "GET", "/api/session")).body.user;
  expect(me).toMatchObject({ username: "admin", role: "admin", teams: null });
  expect(await call(admin, "DELETE", `/api/users/${me.id}`)).toMatchObject({ status: 409, body: { error: { code: "last_admin" } } });
  expect(await call(admin, "PATCH", `/api/users/${me.id}`, { role: "operator" })).toMatchObject({ status: 409 });
  expect((await call(admin, "GET", "/api/session")).body.user.role).toBe("admin");
});

test("the audit log: every change with its actor, failed logins with the username tried and never the password", async () => {
  const wrong = "definitely-wrong-password";
  expect((await apiCall(api, undefined, "POST", "/api/session", { username: "vera", password: wrong })).status).toBe(401);
  const entries: Json[] = [];
  for (let after: string | undefined; ;) {
    const page = (await call(admin, "GET", `/api/audit?limit=100${after ? `&after=${after}` : ""}`)).body.entries as Json[];
    entries.push(...page);
    if (page.length < 100) break;
    after = page.at(-1).id;
  }
  const actions = new Set(entries.map((e) => e.action));
  for (const a of [
    "session.login",
    "session.login_failed",
    "user.created",
    "user.updated",
    "user.deleted",
    "team.created",
    "host.created",
    "host.updated",
    "token.created",
    "token.revoked",
    "command.dispatched",
  ]) {
    expect(actions).toContain(a);
  }
  const failed = entries.filter((e) => e.action === "session.login_failed").at(-1);
  expect(failed.detail).toMatchObject({ username: "vera", address: expect.any(String) });
  expect(JSON.stringify(entries)).not.toContain(wrong);
  const byToken = entries.find((e) => e.action === "command.dispatched" && e.actor.type === "token");
  expect(byToken.actor).toMatchObject({ type: "token", name: "ci" });
  const byUser = entries.find((e) => e.action === "command.dispatched" && e.actor.id === ids.operator);
  expect(byUser.actor).toEqual({ type: "user", id: ids.operator, name: "otto" });
  expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => Number(a.split("-")[0]) - Number(b.split("-")[0])));
});
