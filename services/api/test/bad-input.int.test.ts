/**
 * Issue 11.5: input that is wrong is a 4xx with a stable code, never a 500, and changes nothing.
 * The real api app over a real Redis; requests as raw bytes.
 */
import { gzipSync } from "node:zlib";
import { randomUUID } from "node:crypto";
import { createKeys, createMetrics, createStores, type Keys } from "@tether/core";
import { errorCode, loginCookie, send, startApiServer, type ApiServer } from "./support/api-server";

let server: ApiServer;
let cookie: string;
let hostId: string;
let keys: Keys;

/** A command of the victim host in the store (the worker would write it from the REST dispatch's job). */
async function storedCommand(): Promise<string> {
  const { commands } = createStores(server.command, server.config, createMetrics("test", "t"));
  const id = randomUUID();
  const ok = await commands.queue({
    id,
    host_id: hostId,
    command: "uptime",
    args: [],
    status: "queued",
    created_at: Date.now(),
    exit_code: null,
  });
  expect(ok).toBe(true);
  return id;
}

beforeAll(async () => {
  server = await startApiServer();
  cookie = await loginCookie(server);
  const created = await send(server.url, "POST", "/api/hosts", { cookie, body: { name: "victim" } });
  hostId = (JSON.parse(created.text) as { host: { id: string } }).host.id;
  keys = createKeys(server.config.REDIS_PREFIX);
});
afterAll(() => server?.close());

const json = { "content-type": "application/json" };

describe("parser errors keep their 4xx status", () => {
  test.each([
    ["a malformed % in a path parameter", "GET", "/api/hosts/%zz", {}, undefined, 400, "invalid_path"],
    ["a malformed % in a command id", "POST", "/api/commands/%E0%A4%A/cancel", {}, undefined, 400, "invalid_path"],
    [
      "a body that is not gzip",
      "POST",
      "/api/hosts",
      { ...json, "content-encoding": "gzip" },
      Buffer.from("not gzip"),
      400,
      "invalid_body",
    ],
    [
      "a body that is not deflate",
      "POST",
      "/api/hosts",
      { ...json, "content-encoding": "deflate" },
      Buffer.from("nope"),
      400,
      "invalid_body",
    ],
    [
      "a truncated gzip body",
      "POST",
      "/api/hosts",
      { ...json, "content-encoding": "gzip" },
      gzipSync('{"name":"x"}').subarray(0, 12),
      400,
      "invalid_body",
    ],
    [
      "an unknown Content-Encoding",
      "POST",
      "/api/hosts",
      { ...json, "content-encoding": "zstdx" },
      Buffer.from("{}"),
      415,
      "unsupported_encoding",
    ],
    [
      "an unknown charset",
      "POST",
      "/api/hosts",
      { "content-type": "application/json; charset=latin9" },
      Buffer.from("{}"),
      415,
      "unsupported_charset",
    ],
    ["JSON that does not parse", "POST", "/api/hosts", json, Buffer.from('{"name":'), 400, "invalid_json"],
    [
      "a body that is not JSON",
      "POST",
      "/api/hosts",
      { "content-type": "text/plain" },
      Buffer.from('{"name":"x"}'),
      415,
      "unsupported_media_type",
    ],
    [
      "a form body",
      "POST",
      "/api/hosts",
      { "content-type": "application/x-www-form-urlencoded" },
      Buffer.from("name=x"),
      415,
      "unsupported_media_type",
    ],
    ["a body over 64 kB", "POST", "/api/hosts", json, Buffer.from(JSON.stringify({ name: "x".repeat(70_000) })), 413, "too_large"],
    [
      "a gzip body that inflates past 64 kB",
      "POST",
      "/api/hosts",
      { ...json, "content-encoding": "gzip" },
      gzipSync(JSON.stringify({ name: "x".repeat(500_000) })),
      413,
      "too_large",
    ],
  ] as const)("%s → %i %s", async (_name, method, path, headers, body, status, code) => {
    const before = await server.command.hlen(keys.hosts);
    const res = await send(server.url, method, path, { cookie, headers, body });
    expect({ status: res.status, code: errorCode(res) }).toEqual({ status, code });
    expect(await server.command.hlen(keys.hosts)).toBe(before);
  });

  test("a call without a body still works whatever its Content-Type (cancel of an unknown command: 404)", async () => {
    const res = await send(server.url, "POST", `/api/commands/${randomUUID()}/cancel`, {
      cookie,
      headers: { "content-type": "text/plain" },
    });
    expect({ status: res.status, code: errorCode(res) }).toEqual({ status: 404, code: "unknown_command" });
  });
});

describe("ids are what they claim: only the shape we issue reaches a key name", () => {
  // Each of these once named another key of the same host (`host:<id>:cmds`, a sorted set) and
  // failed with WRONGTYPE (500).
  test.each([
    ["DELETE", (id: string) => `/api/hosts/${id}:cmds`],
    ["DELETE", (id: string) => `/api/hosts/${id}:pending`],
    ["POST", (id: string) => `/api/hosts/${id}:cmds/token`],
    ["GET", (id: string) => `/api/hosts/${id}:cmds`],
    ["GET", (id: string) => `/api/hosts/${id}:cmds/commands`],
    ["GET", () => `/api/hosts/not-a-uuid`],
    ["DELETE", () => `/api/hosts/${"9".repeat(300)}`],
  ] as const)("%s %s → 404 unknown_host, and the host is untouched", async (method, path) => {
    // Give the host a command, so `host:<id>:cmds` exists.
    await storedCommand();
    const res = await send(server.url, method, path(hostId), { cookie, headers: method === "POST" ? json : {} });
    expect({ status: res.status, code: errorCode(res) }).toEqual({ status: 404, code: "unknown_host" });
    expect(await server.command.type(keys.hostCommands(hostId))).toBe("zset");
    expect((await send(server.url, "GET", `/api/hosts/${hostId}`, { cookie })).status).toBe(200);
  });

  test.each([
    ["GET", (id: string) => `/api/commands/${id}:out`],
    ["POST", (id: string) => `/api/commands/${id}:out/cancel`],
    ["GET", () => `/api/commands/c1`],
  ] as const)("%s %s → 404 unknown_command", async (method, path) => {
    const commandId = await storedCommand();
    const res = await send(server.url, method, path(commandId), { cookie });
    expect({ status: res.status, code: errorCode(res) }).toEqual({ status: 404, code: "unknown_command" });
    const after = JSON.parse((await send(server.url, "GET", `/api/commands/${commandId}`, { cookie })).text) as {
      command: { status: string };
    };
    expect(after.command.status).toBe("queued");
  });

  test("a well-formed id that was never issued is a plain 404", async () => {
    const res = await send(server.url, "DELETE", `/api/hosts/${randomUUID()}`, { cookie });
    expect({ status: res.status, code: errorCode(res) }).toEqual({ status: 404, code: "unknown_host" });
  });

  test("GET /api/events?after= takes only an event id: anything else is 400 naming `after`", async () => {
    const all = JSON.parse((await send(server.url, "GET", "/api/events", { cookie })).text) as { events: Array<{ id: string }> };
    const first = all.events[0]!.id;
    const fromFirst = JSON.parse((await send(server.url, "GET", `/api/events?after=${first}`, { cookie })).text) as {
      events: Array<{ id: string }>;
      resync?: boolean;
    };
    expect(fromFirst.resync).toBeUndefined();
    expect(fromFirst.events.map((e) => e.id)).toEqual(all.events.slice(1).map((e) => e.id));
    for (const bad of ["x", `${first}:x`, "1-1", "0-0", first.toUpperCase() + "%00"]) {
      const res = await send(server.url, "GET", `/api/events?after=${encodeURIComponent(bad)}`, { cookie });
      expect({ bad, status: res.status, code: errorCode(res) }).toEqual({ bad, status: 400, code: "invalid_request" });
      expect(res.text).toContain("after");
    }
    const twice = await send(server.url, "GET", `/api/events?after=${first}&after=${first}`, { cookie });
    expect(twice.status).toBe(400);
    // The right shape from another epoch (or trimmed) is not an error: a resync, as before.
    const foreign = JSON.parse((await send(server.url, "GET", "/api/events?after=0000000000001-00000000-otherepoch", { cookie })).text) as {
      resync?: boolean;
    };
    expect(foreign.resync).toBe(true);
  });

  test("the hub's `?after=` goes through the same resume point: a malformed id names no key, it is a resync (null)", async () => {
    const [eventLog] = createStores(server.command, server.config, createMetrics("test", "t")).logs;
    for (const bad of ["x", `${hostId}:cmds`, "1-1", "9".repeat(200)]) expect(await eventLog!.resumePoint(bad)).toBeNull();
    expect(await eventLog!.resumePoint("0")).not.toBeNull();
  });
});
