/**
 * Issue 11.6 / CONTRACT §1 v2, the attacker's view: `/metrics` is not open to the world. On PORT
 * it is 404 without METRICS_TOKEN configured, 401 without or with a wrong token when it is; the
 * ops listener that serves it freely is bound to loopback unless OPS_HOST says otherwise.
 */
import { networkInterfaces } from "node:os";
import { request } from "../support/http";
import { startTestRedis, type TestRedis } from "../support/redis";
import { startService, type ServiceProcess } from "../support/processes";

let redis: TestRedis;
const started: ServiceProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await redis?.stop();
});
beforeAll(async () => {
  redis = await startTestRedis();
});

async function start(kind: "api" | "hub" | "worker", env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await startService(kind, { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, ...env });
  started.push(service);
  return service;
}

/** This machine's first non-loopback IPv4 address (what another machine would dial), if any. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
}

/** Resolves with the status, or with the network error's code (ECONNREFUSED). */
const probe = (url: string, headers: Record<string, string> = {}): Promise<number | string> =>
  request(url, { headers, timeoutMs: 5000 }).then(
    (res) => res.status,
    (err: NodeJS.ErrnoException) => err.code ?? String(err),
  );

test("without METRICS_TOKEN, /metrics on PORT is 404; the ops port serves it, on loopback only (the default), while PORT listens everywhere", async () => {
  // HOST=0.0.0.0 as in production (the harness defaults to 127.0.0.1); OPS_HOST left at its default.
  const api = await start("api", { HOST: "0.0.0.0" });
  expect(await probe(`${api.url}/metrics`)).toBe(404);
  expect(await probe(`${api.url}/healthz`)).toBe(200);
  expect(await probe(`${api.url}/readyz`)).toBe(200);
  const scrape = await request(`${api.opsUrl}/metrics`);
  expect(scrape.status).toBe(200);
  expect(scrape.text).toMatch(/^process_cpu_user_seconds_total\{/m);
  expect(await probe(`${api.opsUrl}/readyz`)).toBe(200);
  expect(api.output()).toMatch(/"ops_host":"127\.0\.0\.1"/);
  const external = externalAddress();
  if (external !== undefined) {
    // The same machine, dialled on its network address: PORT answers, the ops port does not.
    expect(await probe(`http://${external}:${api.port}/healthz`)).toBe(200);
    expect(await probe(`http://${external}:${api.opsPort}/metrics`)).toBe("ECONNREFUSED");
  }
});

test("with METRICS_TOKEN, /metrics on PORT needs exactly that bearer token (401 otherwise); the hub's ops port is its own socket", async () => {
  const token = "metrics-token-0123456789abcdef";
  const hub = await start("hub", { METRICS_TOKEN: token });
  expect(await probe(`${hub.url}/metrics`)).toBe(401);
  expect(await probe(`${hub.url}/metrics`, { Authorization: "Bearer wrong-token-0123456789abcdef" })).toBe(401);
  expect(await probe(`${hub.url}/metrics`, { Authorization: `Bearer ${token}x` })).toBe(401);
  expect(await probe(`${hub.url}/metrics`, { Authorization: token })).toBe(401);
  expect(await probe(`${hub.url}/metrics`, { Authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` })).toBe(401);
  const ok = await request(`${hub.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  expect(ok.status).toBe(200);
  expect(ok.text).toContain("tether_sockets");
  expect(hub.opsPort).not.toBe(hub.port);
  expect(await probe(`${hub.opsUrl}/metrics`)).toBe(200);
  // The token is a secret: never in the logs.
  expect(hub.output()).not.toContain(token);
});

test("the worker has an ops port too, and OPS_HOST opens it where asked", async () => {
  const worker = await start("worker", { OPS_HOST: "0.0.0.0" });
  expect(await probe(`${worker.opsUrl}/metrics`)).toBe(200);
  expect(await probe(`${worker.url}/metrics`)).toBe(404);
  const external = externalAddress();
  if (external !== undefined) expect(await probe(`http://${external}:${worker.opsPort}/healthz`)).toBe(200);
});
