/**
 * Runs against a real Redis, without the services: what a process that died between a command's
 * change and the run's step leaves (a dirty run), and several engines stepping one run at once
 * (every api, hub and worker has one) — each command released once, the window never exceeded,
 * the counts exact.
 */
import type { Redis } from "ioredis";
import type { Command, Run } from "@tether/protocol";
import { CommandStore, EventLog, PartitionSet, RunEngine, RunStore, createKeys, systemClock, zeroCounts, type Keys } from "../src";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = newRedisClient(server.url);
});
afterAll(async () => {
  await closeClient(redis);
  await server.stop();
});

/** One "process": its own stores and engine over the shared connection. `kicks: false` = it dies before stepping. */
function proc(keys: Keys, kicks = true) {
  const log = new EventLog({ redis, keys, maxLen: 100_000 });
  const parts = PartitionSet.single(log);
  const commands = new CommandStore(redis, parts);
  const runs = new RunStore(redis, parts, commands, "test");
  const engine = new RunEngine({ store: runs, clock: systemClock });
  if (kicks) commands.onRunChange = (id) => void engine.kick(id);
  return { commands, runs, engine };
}

function newRun(n: number, maxParallel?: number): { run: Run; commands: Command[] } {
  const id = crypto.randomUUID();
  const now = Date.now();
  const run: Run = {
    id,
    command: "true",
    args: [],
    status: "running",
    counts: { ...zeroCounts(), queued: n },
    total: n,
    created_at: now,
    requested_by: { type: "user", id: "u1", name: "admin" },
    team_id: "default",
    ...(maxParallel ? { max_parallel: maxParallel } : {}),
    stop_on_failure: false,
  };
  const commands = Array.from({ length: n }, (): Command => ({
    id: crypto.randomUUID(),
    host_id: crypto.randomUUID(),
    command: "true",
    args: [],
    status: "queued",
    created_at: now,
    exit_code: null,
    run_id: id,
  }));
  return { run, commands };
}

/** The ids released so far (in their host's pending set, or past queued). */
async function releasedIds(keys: Keys, commands: Command[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of commands) {
    const [hold, status] = await redis.hmget(keys.commandMeta(c.id), "hold", "status");
    if (hold === null && status !== null) out.push(c.id);
  }
  return out;
}

test("a process that dies after finishing a command, before stepping the run: the sweep steps it, once", async () => {
  const keys = createKeys(server.newPrefix());
  const a = proc(keys);
  const { run, commands } = newRun(5, 2);
  await a.runs.create(run, commands, Date.now());
  await a.engine.kick(run.id);
  expect(await releasedIds(keys, commands)).toEqual(commands.slice(0, 2).map((c) => c.id));
  // "Process" b claims and finishes the first two, then dies before its step.
  const dead = proc(keys, false);
  for (const c of commands.slice(0, 2)) {
    expect(await dead.commands.claim(c, c.host_id, Date.now())).not.toBeNull();
    expect(await dead.commands.finish(c.id, { status: "succeeded", exitCode: 0, now: Date.now(), hostId: c.host_id })).toBe("finished");
  }
  expect(await a.runs.dirty()).toContain(run.id);
  expect(await releasedIds(keys, commands)).toHaveLength(2);
  // The worker's sweep (a third process) finds it dirty and releases the next window.
  const sweeper = proc(keys);
  expect(await sweeper.engine.sweep()).toBeGreaterThanOrEqual(1);
  expect(await releasedIds(keys, commands)).toEqual(commands.slice(0, 4).map((c) => c.id));
  const s = await a.runs.state(run.id);
  expect(s?.state).toMatchObject({ next: 4, active: 2, counts: { succeeded: 2, queued: 3 } });
  for (const p of [a, dead, sweeper]) p.engine.close();
});

test("three engines stepping one run at once: each command released once, never more than max_parallel out", async () => {
  const keys = createKeys(server.newPrefix());
  const procs = [proc(keys), proc(keys), proc(keys)];
  const { run, commands } = newRun(60, 7);
  await procs[0]!.runs.create(run, commands, Date.now());
  let maxOut = 0;
  const finished = new Set<string>();
  // Every process kicks; each command is then finished by a random process as soon as it is out.
  await Promise.all(procs.map((p) => p.engine.kick(run.id)));
  while (finished.size < commands.length) {
    const out = (await releasedIds(keys, commands)).filter((id) => !finished.has(id));
    maxOut = Math.max(maxOut, out.length);
    expect(out.length).toBeGreaterThan(0);
    await Promise.all(
      out.map(async (id, i) => {
        const c = commands.find((x) => x.id === id)!;
        const p = procs[i % procs.length]!;
        await p.commands.claim(c, c.host_id, Date.now());
        expect(await p.commands.finish(id, { status: "succeeded", exitCode: 0, now: Date.now(), hostId: c.host_id })).toBe("finished");
        finished.add(id);
      }),
    );
    await Promise.all(procs.map((p) => p.engine.kick(run.id)));
  }
  expect(maxOut).toBeLessThanOrEqual(7);
  const s = await procs[1]!.runs.state(run.id);
  expect(s?.state.counts).toEqual({ ...zeroCounts(), succeeded: 60 });
  expect(s?.state).toMatchObject({ status: "finished", next: 60, active: 0 });
  // Exactly one release of each command: one command_started each in the log.
  const events = (await redis.xrange(keys.log, "-", "+")).map(([, f]) => f[f.indexOf("t") + 1]);
  expect(events.filter((t) => t === "command_started")).toHaveLength(60);
  expect(await procs[0]!.runs.get(run.id)).toMatchObject({ status: "finished", total: 60 });
  for (const p of procs) p.engine.close();
});
