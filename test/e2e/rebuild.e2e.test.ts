/**
 * Issue 4 "Projections from the log": after a busy scenario, `npm run rebuild` drops the host and
 * command projections and folds them again from the log; the result equals the live state.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { Redis } from "ioredis";
import { createKeys, type Keys } from "@tether/core";
import { apiCall, connectAgent, connectBrowser, createHost, login } from "../support/clients";
import { startStack, type Stack } from "../support/processes";
import { closeClient, newRedisClient } from "../support/redis";

const ROOT = path.resolve(__dirname, "../..");
let stack: Stack;
let redis: Redis;
let keys: Keys;

beforeAll(async () => {
  stack = await startStack({ hubs: 2, env: { COMMAND_TTL_MS: "1500", OFFLINE_TIMEOUT_MS: "1000" } });
  redis = newRedisClient(stack.redis.url);
  keys = createKeys(stack.redis.prefix);
});
afterAll(async () => {
  await closeClient(redis);
  await stack?.stop();
});

/** Everything the projection holds, in a comparable form. */
async function projection(): Promise<Record<string, unknown>> {
  const parsed = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as unknown]));
  const hosts = await redis.hgetall(keys.hosts);
  const commands = await redis.hgetall(keys.commands);
  const out: Record<string, unknown> = { hosts: parsed(hosts), commands: parsed(commands) };
  for (const id of Object.keys(commands)) {
    out[`output:${id}`] = await redis.lrange(keys.commandOutput(id), 0, -1);
    const meta = await redis.hgetall(keys.commandMeta(id));
    out[`meta:${id}`] = { host: meta.host, status: meta.status, next_seq: meta.next_seq };
  }
  for (const id of Object.keys(hosts)) {
    out[`history:${id}`] = await redis.zrange(keys.hostCommands(id), "0", "-1", "WITHSCORES");
    out[`pending:${id}`] = await redis.zrange(keys.hostPending(id), "0", "-1");
  }
  return out;
}

const rebuild = (...args: string[]) => rebuildWith({}, ...args);
const rebuildWith = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/rebuild.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, REDIS_URL: stack.redis.url, REDIS_PREFIX: stack.redis.prefix, LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
  });

test("the rebuilt projections equal the live ones after a busy scenario", async () => {
  const [hubA, hubB] = stack.hubs;
  const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  const browser = await connectBrowser(hubB!.wsUrl, cookie, { origin: stack.origin });
  const post = (p: string, body?: unknown) => apiCall(stack.api.url, cookie, "POST", p, body);

  const a = await createHost(stack.api.url, cookie, "alpha");
  const b = await createHost(stack.api.url, cookie, "beta");
  const c = await createHost(stack.api.url, cookie, "gamma");
  const agent = await connectAgent(hubA!.wsUrl, a.token);
  agent.send({ type: "register", payload: { hostname: "alpha", os: "linux", labels: { env: "prod" } } });
  await agent.next("registered");
  agent.send({ type: "heartbeat", payload: { metrics: { load1: 1.5 } } });

  const ids: string[] = [];
  for (let i = 0; i < 4; i++)
    ids.push((await post(`/api/hosts/${a.host.id}/commands`, { command: `run-${i}` })).json<{ command: { id: string } }>().command.id);
  for (const [i, id] of ids.entries()) {
    const cmd = await agent.next("command");
    expect(cmd.payload.command_id).toBe(id);
    for (let seq = 0; seq < 5; seq++)
      agent.send({ type: "output", payload: { command_id: id, seq, stream: seq % 2 ? "stderr" : "stdout", data: `${i}:${seq}\n` } });
    if (i < 3) agent.send({ type: "command_finished", payload: { command_id: id, exit_code: i } });
  }
  // One left running; one queued then cancelled; one expiring on an offline host; one deleted host.
  const queued = (await post(`/api/hosts/${b.host.id}/commands`, { command: "never" })).json<{ command: { id: string } }>().command.id;
  await browser.next((f) => f.type === "command_queued" && f.payload.command.id === queued);
  expect((await post(`/api/commands/${queued}/cancel`)).status).toBe(202);
  const expiring = (await post(`/api/hosts/${b.host.id}/commands`, { command: "late" })).json<{ command: { id: string } }>().command.id;
  await browser.next((f) => f.type === "command_finished" && f.payload.command_id === expiring, 10_000);
  expect((await apiCall(stack.api.url, cookie, "DELETE", `/api/hosts/${c.host.id}`)).status).toBe(204);
  await browser.next((f) => f.type === "host_removed");
  // Barrier: the last write's event has reached a browser, so the projection is settled.
  agent.send({ type: "heartbeat", payload: { metrics: { barrier: 1 } } });
  await browser.next((f) => f.type === "host_update" && f.payload.host.metrics?.barrier === 1);
  await agent.close();
  await browser.close();
  // Writers stopped, as the command asks.
  for (const p of [stack.api, ...stack.hubs, stack.worker]) await p.stop();

  const live = await projection();
  expect(Object.keys(live.hosts as object)).toHaveLength(2);
  // Scramble the projections so the rebuild has something to do.
  await redis.del(keys.hosts, keys.commands, keys.commandOutput(ids[0]!));
  await redis.hset(keys.hosts, "stale", "{}");
  const res = rebuild();
  expect(res.stderr).toBe("");
  expect(res.status).toBe(0);
  expect(await projection()).toEqual(live);
});

test("a trimmed log is refused unless --force", async () => {
  const info = (await redis.call("XINFO", "STREAM", keys.log)) as unknown[];
  const length = Number(info[info.indexOf("length") + 1]);
  await redis.xtrim(keys.log, "MAXLEN", length - 1);
  const refused = rebuild();
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/trimmed/);
  expect(rebuild("--force").status).toBe(0);
});

test("a partitioned log (LOG_PARTITIONS > 1, or a Redis Cluster) is refused with exit 2, before anything is touched", async () => {
  // A run's command order spans partitions and lives in no log, so this version cannot fold it back (docs/design.md).
  const prefix = `${stack.redis.prefix}p`;
  const partitioned = rebuildWith({ REDIS_PREFIX: prefix, LOG_PARTITIONS: "4" });
  expect(partitioned.status).toBe(2);
  expect(partitioned.stderr).toBe("tether rebuild: only a single Redis with LOG_PARTITIONS=1 can be rebuilt by this version\n");
  expect(await redis.keys(`${prefix}*`)).toEqual([]);
  // On a cluster URL it refuses before connecting (nothing listens on port 1).
  const cluster = rebuildWith({ REDIS_URL: "redis+cluster://127.0.0.1:1", REDIS_PREFIX: prefix });
  expect(cluster.status).toBe(2);
  expect(cluster.stderr).toMatch(/only a single Redis with LOG_PARTITIONS=1/);
  // --force does not override it either.
  expect(rebuildWith({ REDIS_PREFIX: prefix, LOG_PARTITIONS: "4" }, "--force").status).toBe(2);
});
