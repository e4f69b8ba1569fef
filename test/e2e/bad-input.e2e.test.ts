/**
 * Issue 4 "Bad input": every kind of bad input gets a clear error and changes nothing; a fuzzer
 * throws random frames at a real hub, which must stay up and keep serving.
 */
import net from "node:net";
import fc from "fast-check";
import WebSocket from "ws";
import { CloseCode, ErrorCode } from "@tether/protocol";
import { apiCall, connectAgent, connectBrowser, createHost, expectUpgradeStatus, login, request } from "../support/clients";
import { startStack, type ServiceProcess, type Stack } from "../support/processes";

let stack: Stack;
let hub: ServiceProcess;
let cookie: string;

beforeAll(async () => {
  stack = await startStack({ hubs: 1, env: { MAX_MESSAGE_BYTES: "8192", AGENT_FRAMES_PER_SEC: "200", BROWSER_FRAMES_PER_SEC: "20" } });
  hub = stack.hubs[0]!;
  cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
});
afterAll(() => stack?.stop());

async function registered(name: string) {
  const { host, token } = await createHost(stack.api.url, cookie, name);
  const agent = await connectAgent(hub.wsUrl, token);
  agent.send({ type: "register", payload: { hostname: name } });
  await agent.next("registered");
  return { agent, host, token };
}

const eventCount = async () =>
  (await apiCall(stack.api.url, cookie, "GET", "/api/events?limit=10000")).json<{ events: unknown[] }>().events.length;

test("each bad frame gets invalid_message, changes nothing, and the socket lives", async () => {
  const before = await eventCount();
  const bad: Array<string | object> = [
    "not json",
    "[1,2,3]",
    "null",
    '"just a string"',
    { type: "heartbeat" }, // missing payload
    { payload: {} }, // missing type
    { type: "fly", payload: {} }, // unknown type
    { type: "register", payload: { hostname: 7 } }, // wrong type
    { type: "register", payload: { hostname: "x".repeat(300) } }, // over the field limit
    { type: "output", payload: { command_id: "c", seq: -1, stream: "stdout", data: "" } },
    { type: "output", payload: { command_id: "c", seq: 0, stream: "stdin", data: "" } },
    "[".repeat(4000) + "]".repeat(4000), // deeply nested
  ];
  // Ten bad frames per socket: the eleventh within a minute would close it (tested below).
  for (let i = 0; i < bad.length; i += 10) {
    const { agent } = await registered(`bad-frames-${i}`);
    for (const frame of bad.slice(i, i + 10)) {
      agent.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      const err = await agent.next("error");
      expect(err.payload.code).toBe(ErrorCode.INVALID_MESSAGE);
      expect(err.payload.message.length).toBeGreaterThan(0);
    }
    expect(agent.ws.readyState).toBe(WebSocket.OPEN);
    await agent.close();
  }
  // Registering the sockets above logged their hosts going online; the bad frames logged nothing.
  expect(await eventCount()).toBe(before + Math.ceil(bad.length / 10) * 2);
});

test("invalid UTF-8 in a text frame closes with 1007", async () => {
  const { agent } = await registered("bad-utf8");
  agent.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  expect((await agent.closed).code).toBe(1007);
});

test("a binary frame is refused with invalid_message", async () => {
  const { agent } = await registered("binary");
  agent.ws.send(Buffer.from(JSON.stringify({ type: "heartbeat", payload: {} })), { binary: true });
  expect((await agent.next("error")).payload.code).toBe(ErrorCode.INVALID_MESSAGE);
  await agent.close();
});

test("a frame over MAX_MESSAGE_BYTES closes with 1009; a flood of valid frames closes with 1008", async () => {
  const big = await registered("big");
  big.agent.send({ type: "heartbeat", payload: { metrics: { note: "x".repeat(200) }, pad: "y".repeat(9000) } });
  expect((await big.agent.closed).code).toBe(CloseCode.MESSAGE_TOO_BIG);

  const flood = await registered("flood");
  for (let i = 0; i < 2000 && flood.agent.ws.readyState === WebSocket.OPEN; i++) flood.agent.send({ type: "heartbeat", payload: {} });
  const closed = await flood.agent.closed;
  expect(closed).toEqual({ code: CloseCode.POLICY_VIOLATION, reason: "rate limit exceeded" });

  const browser = await connectBrowser(hub.wsUrl, cookie, { origin: stack.origin });
  for (let i = 0; i < 500 && browser.ws.readyState === WebSocket.OPEN; i++)
    browser.send({ type: "cancel", payload: { command_id: "nope" } });
  expect((await browser.closed).code).toBe(CloseCode.POLICY_VIOLATION);
});

test("upgrade headers ws must reject get 400, after authentication", async () => {
  const { token } = await createHost(stack.api.url, cookie, "raw");
  const raw = (headers: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = net.connect(hub.port, "127.0.0.1", () => sock.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`));
      let data = "";
      sock.on("data", (d) => {
        data += d.toString();
        if (data.includes("\r\n")) {
          resolve(data.slice(0, data.indexOf("\r\n")));
          sock.destroy();
        }
      });
      sock.on("close", () => resolve(data));
      sock.on("error", reject);
    });
  const auth = `Authorization: Bearer ${token}\r\n`;
  expect(
    await raw(`${auth}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n`),
  ).toMatch(/^HTTP\/1.1 400/);
  expect(
    await raw(
      `${auth}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n`,
    ),
  ).toMatch(/^HTTP\/1.1 400/);
  expect(
    await raw(`Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n`),
  ).toMatch(/^HTTP\/1.1 401/);
  expect(
    await raw(
      `${auth}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n`,
    ),
  ).toMatch(/^HTTP\/1.1 101/);
});

test("forged, expired or logged-out cookies, deleted hosts' and rotated tokens, foreign origins: 401 / 403", async () => {
  const headers = (extra: Record<string, string>) => ({ origin: hub.url, ...extra });
  expect(await expectUpgradeStatus(hub.wsUrl, headers({ cookie: "tether.sid=s%3Aforged.c2lnbmF0dXJl" }))).toBe(401);
  expect(await expectUpgradeStatus(hub.wsUrl, headers({ cookie: "tether.sid=unsigned-id" }))).toBe(401);
  const gone = await login(stack.api.url, stack.admin.username, stack.admin.password);
  await apiCall(stack.api.url, gone, "DELETE", "/api/session");
  expect(await expectUpgradeStatus(hub.wsUrl, headers({ cookie: gone }))).toBe(401);
  expect(await expectUpgradeStatus(hub.wsUrl, { cookie, origin: "http://127.0.0.1:1" })).toBe(403);

  const deleted = await createHost(stack.api.url, cookie, "deleted");
  expect((await apiCall(stack.api.url, cookie, "DELETE", `/api/hosts/${deleted.host.id}`)).status).toBe(204);
  expect(await expectUpgradeStatus(hub.wsUrl, { authorization: `Bearer ${deleted.token}` })).toBe(401);

  const rotated = await createHost(stack.api.url, cookie, "rotated");
  expect((await apiCall(stack.api.url, cookie, "POST", `/api/hosts/${rotated.host.id}/token`)).status).toBe(200);
  expect(await expectUpgradeStatus(hub.wsUrl, { authorization: `Bearer ${rotated.token}` })).toBe(401);
});

test("REST bodies of the wrong shape or size get 400 / 413 naming the field, and change nothing", async () => {
  const before = await apiCall(stack.api.url, cookie, "GET", "/api/hosts");
  const post = (path: string, body: string) =>
    request(`${stack.api.url}${path}`, {
      method: "POST",
      headers: { cookie, origin: stack.api.url, "content-type": "application/json" },
      body,
    });
  const cases: Array<[string, string, number, RegExp]> = [
    ["/api/hosts", "{", 400, /JSON/],
    ["/api/hosts", "{}", 400, /^name/],
    ["/api/hosts", JSON.stringify({ name: 42 }), 400, /^name/],
    ["/api/hosts", JSON.stringify({ name: "x".repeat(500) }), 400, /^name/],
    ["/api/hosts", JSON.stringify({ name: "x".repeat(100_000) }), 413, /too large/],
    ["/api/session", JSON.stringify({ username: ["admin"], password: "x" }), 400, /^username/],
  ];
  for (const [path, body, status, message] of cases) {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(message);
  }
  const { host } = await createHost(stack.api.url, cookie, "cmd-shape");
  for (const body of [
    {},
    { command: "" },
    { command: "ls", args: "not-a-list" },
    { command: "ls", args: [1] },
    { command: "ls", timeout_ms: 5 },
  ]) {
    expect((await post(`/api/hosts/${host.id}/commands`, JSON.stringify(body))).status).toBe(400);
  }
  expect((await apiCall(stack.api.url, cookie, "GET", `/api/hosts/${host.id}/commands`)).json<{ commands: unknown[] }>().commands).toEqual(
    [],
  );
  const after = await apiCall(stack.api.url, cookie, "GET", "/api/hosts");
  expect(after.json<{ hosts: unknown[] }>().hosts.length).toBe(before.json<{ hosts: unknown[] }>().hosts.length + 1);
  // Mutations without an allowed Origin are refused before the session is even looked at.
  const noOrigin = await request(`${stack.api.url}/api/hosts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(noOrigin.status).toBe(403);
});

test("fuzz: random frames never crash the hub, and it keeps serving", async () => {
  const { agent } = await registered("fuzzed");
  const browser = await connectBrowser(hub.wsUrl, cookie, { origin: stack.origin });
  const frame = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 6 }),
    fc.record({
      type: fc.constantFrom("register", "heartbeat", "output", "command_finished", "dispatch", "cancel", "x"),
      payload: fc.anything({ maxDepth: 4 }),
    }),
  );
  const samples = fc.sample(frame, { numRuns: 300, seed: 42 });
  let sent = 0;
  for (const s of samples) {
    for (const sock of [agent, browser]) {
      if (sock.ws.readyState !== WebSocket.OPEN) continue;
      sock.ws.send(typeof s === "string" ? s : JSON.stringify(s));
      sent++;
    }
  }
  expect(sent).toBeGreaterThan(0);
  // Whether the sockets survived the flood or were closed for it, the hub answers and accepts new ones.
  expect((await request(`${hub.url}/healthz`)).status).toBe(200);
  const { agent: fresh } = await registered("after-fuzz");
  expect(fresh.ws.readyState).toBe(WebSocket.OPEN);
  expect(hub.exitInfo).toBeUndefined();
  await fresh.close();
});
