/**
 * Issue 16 point 6 with issue 13's protections: a real 3-master Redis Cluster that speaks only TLS
 * (`--port 0 --tls-port`, the bus and replication over TLS too, a throwaway CA from openssl) and
 * asks for credentials on every node (`requirepass` for the `default` user, and an ACL user
 * `tether` limited to the deployment's prefix). api, hub and worker as child processes with
 * `rediss+cluster://user:password@…`, the CA from REDIS_TLS_CA_FILE and LOG_PARTITIONS=8: an agent
 * goes online, a command dispatched to it streams its output to a browser. Then the attacker's
 * side: a wrong password, none at all, and a CA that did not sign the nodes' certificate. No
 * service ever prints a password.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import type { Redis } from "ioredis";
import { closeClient, newRedisClient } from "../support/redis";
import { startTestCluster, type TestCluster } from "../support/redis-cluster";
import { spawnService, startService, type ServiceKind, type ServiceProcess } from "../support/processes";
import { connectAgent, connectBrowser, createHost, login, request } from "../support/clients";

jest.setTimeout(180_000);
const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;

const requirepass = secret("default");
const userPassword = secret("tether");
const adminPassword = secret("admin");
let cluster: TestCluster;
let ca: string;
/** Every node, as the test's own operator (the `default` user): for ACL LOG and CLIENT LIST. */
let nodes: Redis[] = [];
let env: Record<string, string>;
const services: ServiceProcess[] = [];
let api: ServiceProcess;
let hub: ServiceProcess;
let worker: ServiceProcess;

beforeAll(async () => {
  const prefix = `t${randomBytes(6).toString("hex")}`;
  cluster = await startTestCluster({
    tls: true,
    requirepass,
    // Least privilege where a cluster allows it: the deployment's keys and channels only.
    users: [["tether", "on", `>${userPassword}`, `~${prefix}*`, `&${prefix}*`, "+@all"]],
  });
  ca = cluster.tlsFiles!.ca;
  const caPem = fs.readFileSync(ca);
  nodes = cluster.nodes.map((n) => newRedisClient(`rediss://127.0.0.1:${n.port}`, { password: requirepass, tls: { ca: caPem } }));
  env = {
    REDIS_PREFIX: prefix,
    REDIS_TLS_CA_FILE: ca,
    LOG_PARTITIONS: "8",
    SESSION_SECRET: randomBytes(32).toString("hex"),
    COMMAND_SIGNING_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ADMIN_USER: "admin",
    ADMIN_PASSWORD: adminPassword,
  };
  // The api as the ACL user; hub and worker as the `default` user with requirepass (`:password@`).
  const urls: Record<Exclude<ServiceKind, "all">, string> = {
    api: cluster.urlWith("tether", userPassword),
    hub: cluster.urlWith("", requirepass),
    worker: cluster.urlWith("", requirepass),
  };
  const start = async (kind: Exclude<ServiceKind, "all">) => {
    // Generous: three services start at once on a shared 2-core machine, each with TLS handshakes to every master.
    const service = await startService(kind, { ...env, REDIS_URL: urls[kind] }, { readyTimeoutMs: 90_000 });
    services.push(service);
    return service;
  };
  [api, hub, worker] = await Promise.all([start("api"), start("hub"), start("worker")]);
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await Promise.all(nodes.map((n) => closeClient(n)));
  await cluster?.stop();
});

function expectNoSecretIn(processes: ServiceProcess[], secrets: string[]): void {
  for (const p of processes) {
    const output = p.output();
    for (const s of secrets) expect(output).not.toContain(s);
  }
}

test("api, hub and worker over TLS to every master, with a password and an ACL user: an agent online, a command's output streamed in order", async () => {
  const cookie = await login(api.url, "admin", adminPassword);
  const browser = await connectBrowser(hub.wsUrl, cookie, { origin: hub.url });
  await browser.next((f) => f.type === "hosts");
  const { host, token } = await createHost(api.url, cookie, "secured-cluster-1");
  const agent = await connectAgent(hub.wsUrl, token);
  agent.send({ type: "register", payload: { hostname: "secured-cluster-1" } });
  await agent.next((f) => f.type === "registered");
  await browser.next((f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "online");

  // api → BullMQ (its queue's own slot) → worker → hub → agent: every role's connection at work.
  const res = await request(`${api.url}/api/hosts/${host.id}/commands`, {
    method: "POST",
    headers: { cookie, origin: api.url, "content-type": "application/json" },
    body: JSON.stringify({ command: "uptime" }),
  });
  expect(res.status).toBe(202);
  const command = await agent.next((f) => f.type === "command");
  expect(command.payload).toMatchObject({ command: "uptime" });
  const id = command.payload.command_id;
  const N = 50;
  for (let seq = 0; seq < N; seq++) agent.send({ type: "output", payload: { command_id: id, seq, stream: "stdout", data: `${seq}\n` } });
  agent.send({ type: "command_finished", payload: { command_id: id, exit_code: 0 } });
  const finished = await browser.next((f) => f.type === "command_finished" && f.payload.command_id === id, 30_000);
  expect(finished.payload).toMatchObject({ status: "succeeded", exit_code: 0 });
  const seqs = browser.frames.filter((f) => f.type === "command_output" && f.payload.command_id === id).map((f) => f.payload.seq);
  expect(seqs).toEqual([...Array(N).keys()]);

  // Both users were at work, on every master, and Redis denied none of their commands (scripts included).
  const clientLists = await Promise.all(nodes.slice(0, 3).map(async (n) => (await n.client("LIST")) as string));
  for (const list of clientLists) {
    expect(list).toContain("user=tether");
    expect(list).toContain("user=default");
  }
  for (const n of nodes) expect(await n.call("ACL", "LOG")).toEqual([]);
  expectNoSecretIn(services, [requirepass, userPassword]);
  await agent.close();
  await browser.close();
});

test("a wrong password, or none, stops a service at start: exit 1, a message naming REDIS_URL, never the password", async () => {
  const wrong = secret("wrong");
  const cases = [
    { url: cluster.urlWith("tether", wrong), reply: /WRONGPASS/ },
    { url: cluster.urlWith("", wrong), reply: /WRONGPASS/ },
    { url: cluster.url, reply: /NOAUTH/ },
  ];
  const spawned = await Promise.all(cases.map(({ url }) => spawnService("hub", { ...env, REDIS_URL: url })));
  services.push(...spawned);
  for (const [i, service] of spawned.entries()) {
    // Starting (tsx compiling) may take long on a loaded machine; once a node has refused the
    // credentials the exit follows at once, well inside the 30 s readiness bound it would otherwise wait out.
    await service.waitForLine(/refused|"err":"(WRONGPASS|NOAUTH)/, 90_000);
    const exit = await service.waitForExit(15_000);
    expect(exit.code).toBe(1);
    const output = service.output();
    expect(output).toMatch(/tether: invalid configuration:\n.*REDIS_URL: the Redis Cluster node 127\.0\.0\.1:\d+ refused the credentials/);
    expect(output).toMatch(cases[i]!.reply);
    expect(output).not.toContain(wrong);
    expect(output).not.toContain(requirepass);
  }
  // The nodes logged the failed AUTHs; the real users' work is untouched (the service kept running).
  expect((await request(`${worker.url}/readyz`)).status).toBe(200);
});

test("a CA that did not sign the nodes' certificate: the hub never connects, and says why without the password", async () => {
  const { REDIS_TLS_CA_FILE: _ca, ...withoutCa } = env;
  const untrusting = await spawnService("hub", { ...withoutCa, REDIS_URL: cluster.urlWith("", requirepass) });
  services.push(untrusting);
  await untrusting.waitForLine(/"err":"[^"]*(self-signed|unable to verify|certificate)[^"]*","msg":"redis cluster error"/i, 60_000);
  await expect(request(`${untrusting.url}/readyz`, { timeoutMs: 1000 })).rejects.toThrow();
  expectNoSecretIn([untrusting], [requirepass]);
  await untrusting.stop();
});
