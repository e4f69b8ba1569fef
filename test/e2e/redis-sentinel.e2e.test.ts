/**
 * Issue 17 point 2: Redis Sentinel for real. A primary, a replica and three Sentinels (each with
 * a password); api, two hubs and a worker find the primary through REDIS_SENTINELS alone (their
 * REDIS_URL points at no server: only its credentials count). An agent goes online and gets a
 * command; then the primary is killed with -9, the Sentinels promote the replica, and every
 * connection — commands, Pub/Sub, BullMQ, sessions — follows: the same session still works, a new
 * host is created, the agent's heartbeat reaches a browser on the other hub, a command reaches the
 * agent through the worker.
 */
import { randomBytes } from "node:crypto";
import { startSentinelSet, type SentinelSet } from "../support/redis-sentinel";
import { startService, type ServiceKind, type ServiceProcess } from "../support/processes";
import { apiCall, connectAgent, connectBrowser, createHost, login, type AgentSocket, type BrowserSocket } from "../support/clients";
import { freePort } from "../support/ports";

jest.setTimeout(180_000);

let set: SentinelSet;
const services: ServiceProcess[] = [];
let api: ServiceProcess;
let hubA: ServiceProcess;
let hubB: ServiceProcess;
const adminPassword = `admin-${randomBytes(8).toString("hex")}`;

beforeAll(async () => {
  set = await startSentinelSet({ downAfterMs: 1000 });
  // Nothing listens on this port: a service that used REDIS_URL's address would never get ready.
  const nowhere = await freePort();
  const [apiPort, hubAPort, hubBPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const origin = `http://127.0.0.1:${apiPort}`;
  const env = {
    REDIS_URL: `redis://:${set.dataPassword}@127.0.0.1:${nowhere}`,
    REDIS_SENTINELS: set.sentinels,
    REDIS_SENTINEL_NAME: set.name,
    REDIS_SENTINEL_PASSWORD: set.sentinelPassword,
    REDIS_PREFIX: `t${randomBytes(6).toString("hex")}`,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    ADMIN_USER: "admin",
    ADMIN_PASSWORD: adminPassword,
    ALLOWED_ORIGINS: [origin, `http://127.0.0.1:${hubAPort}`, `http://127.0.0.1:${hubBPort}`].join(","),
    OFFLINE_TIMEOUT_MS: "20000",
  };
  const start = async (kind: ServiceKind, extra: Record<string, string>) => {
    const service = await startService(kind, { ...env, ...extra }, { readyTimeoutMs: 90_000 });
    services.push(service);
    return service;
  };
  [api, hubA, hubB] = await Promise.all([
    start("api", { PORT: String(apiPort) }),
    start("hub", { PORT: String(hubAPort), NODE_ID: "hub-a" }),
    start("hub", { PORT: String(hubBPort), NODE_ID: "hub-b" }),
    start("worker", {}),
  ]);
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await set?.stop();
});

async function dispatched(agent: AgentSocket, hostId: string, cookie: string, marker: string): Promise<void> {
  const res = await apiCall(api.url, cookie, "POST", `/api/hosts/${hostId}/commands`, { command: "echo", args: [marker] });
  expect(res.status).toBe(202);
  const command = await agent.next((f) => f.type === "command" && JSON.stringify(f.payload).includes(marker), 20_000);
  expect(command.payload).toMatchObject({ command: "echo" });
}

test("every service follows the Sentinels to the primary, and to the replica after the primary is killed", async () => {
  expect(await set.primaryAddress()).toEqual({ host: "127.0.0.1", port: set.primaryPort });
  const cookie = await login(api.url, "admin", adminPassword);
  const browser: BrowserSocket = await connectBrowser(hubB.wsUrl, cookie, { origin: api.url });
  const { host, token } = await createHost(api.url, cookie, "sentinel-1");
  const agent = await connectAgent(hubA.wsUrl, token);
  agent.send({ type: "register", payload: { hostname: "sentinel-1" } });
  await agent.next((f) => f.type === "registered");
  await browser.next((f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "online");
  await dispatched(agent, host.id, cookie, "before-failover");

  const killedAt = Date.now();
  set.killPrimary();
  // The Sentinels agree the primary is down (1 s) and promote the replica.
  const deadline = Date.now() + 30_000;
  while ((await set.primaryAddress()).port !== set.replicaPort) {
    if (Date.now() > deadline) throw new Error("the Sentinels never promoted the replica");
    await new Promise((r) => setTimeout(r, 100));
  }
  const promotedAfter = Date.now() - killedAt;

  // The api follows: the session written before the failover still holds (the replica has it),
  // and a write succeeds. Until the services have moved over, requests may fail: wait for the
  // first success, bounded.
  const writeDeadline = Date.now() + 30_000;
  let status = 0;
  while (status !== 201) {
    if (Date.now() > writeDeadline) throw new Error(`the api never wrote to the new primary (last status ${status})`);
    const res = await apiCall(api.url, cookie, "POST", "/api/hosts", { name: "after-failover" });
    status = res.status;
    if (status !== 201) await new Promise((r) => setTimeout(r, 100));
  }
  const apiBackAfter = Date.now() - killedAt;

  // The hub holding the agent writes its heartbeat to the new primary; the other hub's subscriber
  // follows too and relays it to the browser.
  const heartbeatDeadline = Date.now() + 30_000;
  for (let beat = 1; ; beat++) {
    agent.send({ type: "heartbeat", payload: { metrics: { failover: beat } } });
    try {
      await browser.next(
        (f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.metrics?.failover === beat,
        1000,
      );
      break;
    } catch (err) {
      if (Date.now() > heartbeatDeadline) throw err;
    }
  }
  const relayBackAfter = Date.now() - killedAt;
  // api → BullMQ on the new primary → worker → hub → agent.
  await dispatched(agent, host.id, cookie, "after-failover");
  const dispatchBackAfter = Date.now() - killedAt;
  for (const s of services) expect(s.output()).not.toContain(set.dataPassword);
  for (const s of services) expect(s.output()).not.toContain(set.sentinelPassword);
  process.stdout.write(
    `[sentinel] primary kill -9 → replica promoted ${promotedAfter} ms; api writes again ${apiBackAfter} ms; ` +
      `heartbeat relayed ${relayBackAfter} ms; command through the worker ${dispatchBackAfter} ms\n`,
  );
  await agent.close();
  await browser.close();
});
