/**
 * Issue 18.3: `GET /api/openapi.json` describes the api exactly. The real api app over a real
 * Redis: the document must validate as OpenAPI (a real validator from npm, run as a child
 * process: it is ESM only), name every route the Express app serves and only those, and real
 * answers of real calls must match what it documents for their status, body and all.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { z } from "zod";
import { createMetrics, createStores } from "@tether/core";
import { errorCode, loginCookie, send, startApiServer, type ApiServer, type Reply } from "./support/api-server";

/** The parts of an OpenAPI document this test reads. */
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { content?: Content }> };
}
type Content = Record<string, { schema: unknown }>;
interface Operation {
  operationId: string;
  security?: unknown[];
  requestBody?: { content: Content };
  responses: Record<string, { $ref?: string; content?: Content }>;
}

let server: ApiServer;
let cookie: string;
let doc: Doc;
let served: Reply;

beforeAll(async () => {
  server = await startApiServer();
  // Public: no cookie.
  served = await send(server.url, "GET", "/api/openapi.json");
  doc = JSON.parse(served.text) as Doc;
  cookie = await loginCookie(server);
});
afterAll(() => server?.close());

const METHODS = ["get", "post", "patch", "delete", "put"] as const;

/** Every `METHOD /path` the document lists, in Express's `:param` form. */
function documentedRoutes(): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
  );
}

/** A layer of an Express 5 router stack (the `router` package), as far as this test reads it. */
interface Layer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` the app's routers serve, found by walking their stacks (mount paths joined). */
function servedRoutes(stack: Layer[], prefix = ""): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods)
        .filter((m) => m !== "_all")
        .map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path === "/" ? "" : layer.route!.path}`);
    }
    if (!layer.handle.stack) return [];
    if (typeof layer.rawPath !== "string") throw new Error(`a router mounted on ${String(layer.rawPath)}: teach this walk its path`);
    return servedRoutes(layer.handle.stack, prefix + (layer.rawPath === "/" ? "" : layer.rawPath));
  });
}

/** `schema` with every `$ref` to a component replaced by the component (Tether's schemas have no cycles). */
function deref(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(deref);
  if (node === null || typeof node !== "object") return node;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === "string") {
    const name = ref.replace("#/components/schemas/", "");
    if (!(name in doc.components.schemas)) throw new Error(`unresolved $ref ${ref}`);
    return deref(doc.components.schemas[name]);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v)]));
}

/** The JSON Schema of `content`, as a zod validator (zod's own JSON Schema reader, not the writer that made it). */
function validatorOf(content: Content | undefined): z.ZodType | null {
  const schema = content?.["application/json"]?.schema;
  return schema === undefined ? null : z.fromJSONSchema(deref(schema) as Parameters<typeof z.fromJSONSchema>[0]);
}

/** Every `$ref` anywhere in the document. */
function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refsIn(v)));
}

/**
 * `reply` has `status`, the document lists that status for `METHOD template`, and the body matches
 * its schema (a 204 has none); a JSON `body` that was sent for a 2xx matches the request body schema.
 */
function expectDocumented(method: (typeof METHODS)[number], template: string, reply: Reply, status: number, body?: unknown): void {
  expect([method, template, reply.status, reply.text.slice(0, 200)]).toEqual([method, template, status, expect.anything()]);
  const op = doc.paths[template]?.[method];
  if (!op) throw new Error(`${method} ${template} is not in the document`);
  const documented = op.responses[String(reply.status)];
  if (!documented) throw new Error(`${method} ${template} answered ${reply.status}, not documented (${reply.text})`);
  const response = documented.$ref ? doc.components.responses[documented.$ref.replace("#/components/responses/", "")]! : documented;
  const validator = validatorOf(response.content);
  if (validator === null) {
    expect(reply.text).toBe("");
  } else {
    const parsed = validator.safeParse(JSON.parse(reply.text));
    if (!parsed.success) throw new Error(`${method} ${template} ${reply.status}: ${reply.text}\n${parsed.error.message}`);
  }
  if (body !== undefined && reply.status < 300) {
    const request = validatorOf(op.requestBody?.content);
    expect(request?.safeParse(body).success).toBe(true);
  }
}

describe("the document", () => {
  test("is public JSON and validates as OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
    expect(served.status).toBe(200);
    expect(served.headers["content-type"]).toMatch(/^application\/json/);
    expect(doc.openapi).toBe("3.1.0");
    const dir = mkdtempSync(join(tmpdir(), "tether-openapi-"));
    try {
      const file = join(dir, "openapi.json");
      writeFileSync(file, served.text);
      const cli = join(dirname(require.resolve("@seriousme/openapi-schema-validator/package.json")), "bin", "validate-api-cli.js");
      // Exits non-zero (execFile rejects, with the errors on stdout) when the document is invalid.
      const { stdout } = await promisify(execFile)(process.execPath, [cli, file], { timeout: 30_000 });
      expect(JSON.parse(stdout)).toEqual({ valid: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Every reference resolves, every operation has its own id.
    for (const ref of refsIn(doc)) {
      const [, kind, name] = /^#\/components\/(schemas|responses)\/(\w+)$/.exec(ref) ?? [];
      expect(kind && name && doc.components[kind as "schemas" | "responses"][name]).toBeTruthy();
    }
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("names every route the app serves, and serves every route it names", () => {
    const app = server.api.app as unknown as { router: { stack: Layer[] } };
    const fromApp = [...new Set(servedRoutes(app.router.stack))].sort();
    // Sanity: the walk did find the routers (CONTRACT §2's first and last calls).
    expect(fromApp).toEqual(expect.arrayContaining(["POST /api/session", "GET /api/events"]));
    expect(documentedRoutes().sort()).toEqual(fromApp);
  });

  test("every operation lists the errors its kind can give", () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const statuses = Object.keys(op.responses);
        const name = `${method} ${path}`;
        const isPublic = op.security?.length === 0;
        if (!isPublic) expect([name, statuses]).toEqual([name, expect.arrayContaining(["401"])]);
        if (method !== "get") expect([name, statuses]).toEqual([name, expect.arrayContaining(["403"])]);
        if (op.requestBody) expect([name, statuses]).toEqual([name, expect.arrayContaining(["400", "413", "415"])]);
        if (path.includes("{")) expect([name, statuses]).toEqual([name, expect.arrayContaining(["400"])]);
        for (const status of statuses.filter((s) => s >= "400")) expect(op.responses[status]!.$ref).toMatch(/^#\/components\/responses\//);
      }
    }
  });
});

describe("real answers match the document", () => {
  const json = { "content-type": "application/json" };
  const call = (method: string, path: string, opts: Parameters<typeof send>[3] = {}) => send(server.url, method, path, { cookie, ...opts });

  test("session, hosts, commands, events, runs", async () => {
    const login = { username: server.admin.username, password: server.admin.password };
    expectDocumented("post", "/api/session", await send(server.url, "POST", "/api/session", { body: login }), 200, login);
    expectDocumented("get", "/api/session", await call("GET", "/api/session"), 200);

    const create = { name: "doc-host" };
    const created = await call("POST", "/api/hosts", { body: create });
    expectDocumented("post", "/api/hosts", created, 201, create);
    const hostId = (JSON.parse(created.text) as { host: { id: string } }).host.id;
    expectDocumented("get", "/api/hosts", await call("GET", "/api/hosts"), 200);
    const patch = { name: "doc-host-2" };
    expectDocumented("patch", "/api/hosts/{id}", await call("PATCH", `/api/hosts/${hostId}`, { body: patch }), 200, patch);
    expectDocumented("post", "/api/hosts/{id}/token", await call("POST", `/api/hosts/${hostId}/token`), 200);
    const dispatch = { command: "uptime", args: ["-p"], timeout_ms: 5000 };
    expectDocumented(
      "post",
      "/api/hosts/{id}/commands",
      await call("POST", `/api/hosts/${hostId}/commands`, { body: dispatch }),
      202,
      dispatch,
    );

    // The worker records a dispatched command from its job; there is none here, so the store does.
    const commandId = randomUUID();
    const { commands } = createStores(server.command, server.config, createMetrics("test", "t"));
    await commands.queue({
      id: commandId,
      host_id: hostId,
      command: "uptime",
      args: [],
      status: "queued",
      created_at: Date.now(),
      exit_code: null,
    });
    expectDocumented("get", "/api/hosts/{id}", await call("GET", `/api/hosts/${hostId}`), 200);
    expectDocumented("get", "/api/hosts/{id}/commands", await call("GET", `/api/hosts/${hostId}/commands`), 200);
    expectDocumented("get", "/api/commands/{id}", await call("GET", `/api/commands/${commandId}`), 200);
    // Withdrawn at once (it was queued): a second cancel is the documented 409.
    expectDocumented("post", "/api/commands/{id}/cancel", await call("POST", `/api/commands/${commandId}/cancel`), 202);
    const again = await call("POST", `/api/commands/${commandId}/cancel`);
    expectDocumented("post", "/api/commands/{id}/cancel", again, 409);
    expect(errorCode(again)).toBe("command_finished");

    // The log now holds host_update, command_queued and command_finished events: each matches `Event`.
    const events = await call("GET", "/api/events?after=0&limit=50");
    expectDocumented("get", "/api/events", events, 200);
    const types = (JSON.parse(events.text) as { events: { type: string }[] }).events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["host_update", "command_queued", "command_finished"]));

    // §6: a run on that host; its `run_update` events are in the log too.
    const target = { command: "uptime", target: { host_ids: [hostId] }, max_parallel: 1 };
    const run = await call("POST", "/api/runs", { body: target });
    expectDocumented("post", "/api/runs", run, 202, target);
    const runId = (JSON.parse(run.text) as { run: { id: string } }).run.id;
    expectDocumented("get", "/api/runs", await call("GET", "/api/runs?limit=5"), 200);
    expectDocumented("get", "/api/runs/{id}", await call("GET", `/api/runs/${runId}`), 200);
    expectDocumented("get", "/api/runs/{id}", await call("GET", `/api/runs/${randomUUID()}`), 404);
    expectDocumented("post", "/api/runs/{id}/cancel", await call("POST", `/api/runs/${runId}/cancel`), 202);
    expectDocumented(
      "post",
      "/api/runs",
      await call("POST", "/api/runs", { body: { command: "uptime", target: { team_id: "nowhere" } } }),
      400,
    );
    const withRuns = await call("GET", "/api/events?after=0&limit=200");
    expectDocumented("get", "/api/events", withRuns, 200);
    expect(withRuns.text).toContain('"type":"run_update"');

    expectDocumented("delete", "/api/hosts/{id}", await call("DELETE", `/api/hosts/${hostId}`), 204);
    expectDocumented("get", "/api/signing-keys", await send(server.url, "GET", "/api/signing-keys"), 200);
  });

  test("users, teams, API tokens, audit", async () => {
    const team = { name: `Doc Team ${randomUUID().slice(0, 8)}` };
    expectDocumented("get", "/api/teams", await call("GET", "/api/teams"), 200);
    expectDocumented("post", "/api/teams", await call("POST", "/api/teams", { body: team }), 201, team);
    const taken = await call("POST", "/api/teams", { body: team });
    expectDocumented("post", "/api/teams", taken, 409);
    expect(errorCode(taken)).toBe("team_exists");

    const user = { username: `viewer-${randomUUID().slice(0, 8)}`, password: "viewer-password", role: "viewer" };
    const created = await call("POST", "/api/users", { body: user });
    expectDocumented("post", "/api/users", created, 201, user);
    const userId = (JSON.parse(created.text) as { user: { id: string } }).user.id;
    expectDocumented("post", "/api/users", await call("POST", "/api/users", { body: user }), 409);
    expectDocumented("get", "/api/users", await call("GET", "/api/users"), 200);
    const patch = { teams: ["default"] };
    expectDocumented("patch", "/api/users/{id}", await call("PATCH", `/api/users/${userId}`, { body: patch }), 200, patch);

    // A viewer's refusal is CONTRACT §4's exact `{"error":"forbidden"}`: the document says so too.
    const viewerLogin = await send(server.url, "POST", "/api/session", { body: { username: user.username, password: user.password } });
    const viewer = String(viewerLogin.headers["set-cookie"]).split(";")[0]!;
    const refused = await call("GET", "/api/audit", { cookie: viewer });
    expectDocumented("get", "/api/audit", refused, 403);
    expect(refused.text).toBe('{"error":"forbidden"}');

    const token = { name: "doc-token", role: "viewer", expires_at: Date.now() + 3_600_000 };
    const minted = await call("POST", "/api/tokens", { body: token });
    expectDocumented("post", "/api/tokens", minted, 201, token);
    const { token: secret, api_token } = JSON.parse(minted.text) as { token: string; api_token: { id: string } };
    // With the token: the session answers `via_token`, and minting another is refused.
    const bearer = { authorization: `Bearer ${secret}` };
    const viaToken = await send(server.url, "GET", "/api/session", { headers: bearer });
    expectDocumented("get", "/api/session", viaToken, 200);
    expect(JSON.parse(viaToken.text)).toMatchObject({ via_token: { id: api_token.id } });
    expectDocumented("post", "/api/tokens", await send(server.url, "POST", "/api/tokens", { headers: bearer, body: { name: "x" } }), 403);
    expectDocumented("get", "/api/tokens", await call("GET", "/api/tokens"), 200);
    expectDocumented("delete", "/api/tokens/{id}", await call("DELETE", `/api/tokens/${api_token.id}`), 204);
    expectDocumented("delete", "/api/tokens/{id}", await call("DELETE", `/api/tokens/${api_token.id}`), 404);

    expectDocumented("get", "/api/audit", await call("GET", "/api/audit?limit=20"), 200);
    expectDocumented("delete", "/api/users/{id}", await call("DELETE", `/api/users/${userId}`), 204);
  });

  test("errors: each status a call gets is one the document lists for it, in the shared body", async () => {
    const cases: [(typeof METHODS)[number], string, Promise<Reply>, number][] = [
      ["get", "/api/hosts", send(server.url, "GET", "/api/hosts"), 401],
      ["get", "/api/hosts/{id}", call("GET", `/api/hosts/${randomUUID()}`), 404],
      ["get", "/api/hosts/{id}", call("GET", "/api/hosts/%zz"), 400],
      ["post", "/api/hosts", call("POST", "/api/hosts", { body: { name: "" } }), 400],
      ["post", "/api/hosts", call("POST", "/api/hosts", { body: { name: "x" }, headers: { origin: "http://evil.test" } }), 403],
      ["post", "/api/session", send(server.url, "POST", "/api/session", { body: { username: "admin", password: "wrong-password" } }), 401],
      ["post", "/api/hosts", call("POST", "/api/hosts", { headers: { "content-type": "text/plain" }, body: Buffer.from("name=x") }), 415],
      ["post", "/api/hosts", call("POST", "/api/hosts", { headers: json, body: Buffer.from(`{"name":"${"x".repeat(70_000)}"}`) }), 413],
      ["get", "/api/events", call("GET", "/api/events?after=nope"), 400],
      ["delete", "/api/users/{id}", call("DELETE", `/api/users/${randomUUID()}`), 404],
    ];
    for (const [method, template, pending, status] of cases) expectDocumented(method, template, await pending, status);
  });
});
