/**
 * Issue 13 point 5: Redis that asks for a password. Real `redis-server`s — one with ACL users (the
 * `default` user off, one least-privilege user per service, from deploy/redis/service-user.acl,
 * the same rules the Compose file gives its Redis), one with TLS only (`rediss://`, a throwaway
 * CA from openssl, REDIS_TLS_CA_FILE) and `requirepass` — each with api, hub and worker as child
 * processes, an agent going online and a dispatched command reaching it through BullMQ. Then the
 * attacker's side: wrong passwords, a server certificate the services do not trust, and what a
 * service user's password does not grant. No service ever prints a password.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Redis } from "ioredis";
import { closeClient, newRedisClient } from "../support/redis";
import { startSecureRedis, type SecureRedis } from "../support/redis-secure";
import { spawnService, startService, type ServiceKind, type ServiceProcess } from "../support/processes";
import { connectAgent, connectBrowser, createHost, login, request, type FrameClient } from "../support/clients";

const ROOT = path.resolve(__dirname, "../..");
const KINDS = ["api", "hub", "worker"] as const;
/** The rules every service user gets (the Compose file's Redis uses the same file). */
const SERVICE_RULES = readFileSync(path.join(ROOT, "deploy/redis/service-user.acl"), "utf8").trim();
jest.setTimeout(180_000);
const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;

interface Running {
  redis: SecureRedis;
  services: ServiceProcess[];
}
const running: Running[] = [];

afterAll(async () => {
  for (const r of running) {
    await Promise.all(r.services.map((s) => s.stop()));
    await r.redis.stop();
  }
});

/** api, hub and worker over one Redis, each with its own REDIS_URL (its own user), sharing the rest. */
async function startServices(redis: SecureRedis, urls: Record<(typeof KINDS)[number], string>, extra: Record<string, string> = {}) {
  const prefix = `t${randomBytes(6).toString("hex")}`;
  const env = {
    REDIS_PREFIX: prefix,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    ADMIN_USER: "admin",
    ADMIN_PASSWORD: secret("admin"),
    ...extra,
  };
  const entry: Running = { redis, services: [] };
  running.push(entry);
  const start = async (kind: ServiceKind, url: string) => {
    // Generous: three services start at once on a shared 2-core machine.
    const service = await startService(kind, { ...env, REDIS_URL: url }, { readyTimeoutMs: 90_000 });
    entry.services.push(service);
    return service;
  };
  const [api, hub, worker] = await Promise.all(KINDS.map((kind) => start(kind, urls[kind])));
  return { api: api!, hub: hub!, worker: worker!, env, services: entry.services };
}

/** Logs in, adds a host, connects its agent to the hub, sees it online in a browser, dispatches a command to it. */
async function agentOnlineAndCommanded(api: ServiceProcess, hub: ServiceProcess, password: string): Promise<void> {
  const cookie = await login(api.url, "admin", password);
  const browser: FrameClient = await connectBrowser(hub.wsUrl, cookie, { origin: hub.url });
  await browser.next((f) => f.type === "hosts");
  const { host, token } = await createHost(api.url, cookie, "secured-1");
  const agent = await connectAgent(hub.wsUrl, token);
  agent.send({ type: "register", payload: { hostname: "secured-1" } });
  await agent.next((f) => f.type === "registered");
  await browser.next((f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "online");
  // api → BullMQ queue → worker → hub → agent: every kind of connection and every user at work.
  const res = await request(`${api.url}/api/hosts/${host.id}/commands`, {
    method: "POST",
    headers: { cookie, origin: api.url, "content-type": "application/json" },
    body: JSON.stringify({ command: "uptime" }),
  });
  expect(res.status).toBe(202);
  const command = await agent.next((f) => f.type === "command");
  expect(command.payload).toMatchObject({ command: "uptime" });
  await agent.close();
  await browser.close();
}

function expectNoSecretIn(services: ServiceProcess[], secrets: string[]): void {
  for (const service of services) {
    const output = service.output();
    for (const s of secrets) expect(output).not.toContain(s);
  }
}

describe("ACL users: the default user off, one least-privilege user per service", () => {
  const passwords = { api: secret("api"), hub: secret("hub"), worker: secret("worker") };
  const admin = secret("ops");
  let redis: SecureRedis;
  let opsClient: Redis;
  let stack: Awaited<ReturnType<typeof startServices>>;
  const url = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${redis.port}`;

  beforeAll(async () => {
    // The rules name the key and channel prefix; this test's prefix is picked below, so the
    // rules are given for the `t` prefixes every test stack uses, as an operator gives `tether`.
    const rules = SERVICE_RULES.replaceAll("PREFIX", "t*");
    redis = await startSecureRedis({
      acl: [
        "user default off",
        `user ops on >${admin} ~* &* +@all`,
        ...KINDS.map((kind) => `user tether-${kind} on >${passwords[kind]} ${rules}`),
      ],
    });
    opsClient = newRedisClient(url("ops", admin));
    stack = await startServices(redis, {
      api: url("tether-api", passwords.api),
      hub: url("tether-hub", passwords.hub),
      worker: url("tether-worker", passwords.worker),
    });
  });
  afterAll(async () => {
    await closeClient(opsClient);
  });

  test("api, hub and worker run with their own users: an agent goes online and gets a command, and Redis denied nothing", async () => {
    await agentOnlineAndCommanded(stack.api, stack.hub, stack.env.ADMIN_PASSWORD);
    const clients = (await opsClient.client("LIST")) as string;
    for (const kind of KINDS) expect(clients).toContain(`user=tether-${kind}`);
    // Every command the services sent was allowed: the smallest set that works is the one that works.
    expect(await opsClient.call("ACL", "LOG")).toEqual([]);
    if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`${String(await opsClient.call("INFO", "commandstats"))}\n`);
    expectNoSecretIn(stack.services, Object.values(passwords));
  });

  test("a service user's password grants no admin commands, no other prefix, no other channels", async () => {
    const hubUser = newRedisClient(url("tether-hub", passwords.hub), { maxRetriesPerRequest: 1 });
    try {
      await expect(hubUser.call("CONFIG", "GET", "*")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.call("FLUSHALL")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.call("KEYS", "*")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.call("ACL", "LIST")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.call("SHUTDOWN")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.get("other-app:secret")).rejects.toThrow(/NOPERM/);
      await expect(hubUser.publish("other-app:events", "x")).rejects.toThrow(/NOPERM/);
    } finally {
      await closeClient(hubUser);
      await opsClient.call("ACL", "LOG", "RESET");
    }
  });

  test("without credentials, or with a wrong password, a service is never ready, and says why without the password", async () => {
    const wrong = secret("wrong");
    const bad = await spawnService("hub", { ...stack.env, REDIS_URL: url("tether-hub", wrong) });
    const anonymous = await spawnService("worker", { ...stack.env, REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    running[0]!.services.push(bad, anonymous);
    await bad.waitForLine(/WRONGPASS.*"redis error"/, 60_000);
    await anonymous.waitForLine(/NOAUTH.*"redis error"/, 60_000);
    // It listens only once Redis is ready, so there is nothing to answer yet: not ready.
    await expect(request(`${bad.url}/readyz`, { timeoutMs: 1000 })).rejects.toThrow();
    expectNoSecretIn([bad, anonymous], [wrong]);
    await Promise.all([bad.stop(), anonymous.stop()]);
  });
});

describe("TLS only (rediss://) with requirepass, the CA from REDIS_TLS_CA_FILE", () => {
  const password = secret("redis");
  let redis: SecureRedis & { tlsFiles?: { ca: string } };
  let stack: Awaited<ReturnType<typeof startServices>>;

  beforeAll(async () => {
    redis = await startSecureRedis({ tls: true, requirepass: password });
    const url = `rediss://:${password}@127.0.0.1:${redis.port}`;
    stack = await startServices(redis, { api: url, hub: url, worker: url }, { REDIS_TLS_CA_FILE: redis.tlsFiles!.ca });
  });

  test("api, hub and worker over TLS: an agent goes online and gets a command", async () => {
    await agentOnlineAndCommanded(stack.api, stack.hub, stack.env.ADMIN_PASSWORD);
    expectNoSecretIn(stack.services, [password]);
  });

  test("a server the CA did not sign is refused: without REDIS_TLS_CA_FILE the hub never connects", async () => {
    const { REDIS_TLS_CA_FILE: _ca, ...withoutCa } = stack.env as Record<string, string>;
    const hub = await spawnService("hub", { ...withoutCa, REDIS_URL: `rediss://:${password}@127.0.0.1:${redis.port}` });
    running[running.length - 1]!.services.push(hub);
    await hub.waitForLine(/"err":"[^"]*(self-signed|unable to verify|certificate)[^"]*","msg":"redis error"/i, 60_000);
    expectNoSecretIn([hub], [password]);
    await hub.stop();
  });

  test("REDIS_TLS_CA_FILE with a redis:// URL, or one that cannot be read, stops the process naming the variable", async () => {
    const plain = await spawnService("worker", { ...stack.env, REDIS_URL: `redis://:${password}@127.0.0.1:${redis.port}` });
    running[running.length - 1]!.services.push(plain);
    expect((await plain.waitForExit(60_000)).code).toBe(1);
    expect(plain.output()).toMatch(/REDIS_TLS_CA_FILE: set only with a rediss:\/\/ REDIS_URL/);
    const missing = await spawnService("worker", {
      ...stack.env,
      REDIS_TLS_CA_FILE: "/nonexistent/ca.pem",
      REDIS_URL: `rediss://127.0.0.1:1`,
    });
    running[running.length - 1]!.services.push(missing);
    expect((await missing.waitForExit(60_000)).code).toBe(1);
    expect(missing.output()).toMatch(/REDIS_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem \(ENOENT\)/);
    expectNoSecretIn([plain, missing], [password]);
  });
});
