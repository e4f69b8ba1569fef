/**
 * Runs across partitions (issue 16, CONTRACT §6 and §7), without the services: LOG_PARTITIONS=4
 * on one redis-server and on a real 3-master Redis Cluster (where a step touching two slots
 * throws CROSSSLOT). A run's commands spread over the partitions; its counts are shards summed;
 * the max_parallel window holds with three engines stepping at once; stop_on_failure and cancel
 * stop it; a process that dies between a release's home step and its un-holds leaves a reservation
 * that the worker's sweep completes, once.
 */
import { Cluster, type Redis } from "ioredis";
import type { Command, Run } from "@tether/protocol";
import {
  CommandStore,
  EventLog,
  PartitionSet,
  RunEngine,
  RunStore,
  clusterTarget,
  closeRedis,
  createClusterClient,
  createLogger,
  createPartitionedKeys,
  newCommandId,
  systemClock,
  whenReady,
  zeroCounts,
} from "../src";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";
import { startTestCluster, type TestCluster } from "../../../test/support/redis-cluster";

const PARTITIONS = 4;

interface Backend {
  redis: Redis | Cluster;
  /** A fresh prefix per test: runs never see another test's keys. */
  newPrefix(): string;
}

function suite(name: string, start: () => Promise<Backend & { stop(): Promise<void> }>) {
  describe(name, () => {
    let backend: Backend & { stop(): Promise<void> };
    beforeAll(async () => {
      backend = await start();
    }, 60_000);
    afterAll(async () => {
      await backend?.stop();
    });

    /** One "process" over the shared connection: its stores and engine. `kicks: false` = it never steps (dies first). */
    function proc(prefix: string, kicks = true) {
      const { redis } = backend;
      const keys = createPartitionedKeys(prefix, PARTITIONS, { cluster: redis instanceof Cluster });
      const parts = new PartitionSet(
        keys,
        keys.all.map((k) => new EventLog({ redis, keys: k, maxLen: 100_000 })),
      );
      const commands = new CommandStore(redis, parts);
      const runs = new RunStore(redis, parts, commands, "test");
      const engine = new RunEngine({ store: runs, clock: systemClock });
      if (kicks) commands.onRunChange = (id) => void engine.kick(id);
      return { parts, commands, runs, engine };
    }
    type Proc = ReturnType<typeof proc>;

    /** A run of `n` commands on `n` hosts, chosen so that every partition holds some. */
    function newRun(n: number, opts: { maxParallel?: number; stop?: boolean } = {}): { run: Run; commands: Command[] } {
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
        ...(opts.maxParallel ? { max_parallel: opts.maxParallel } : {}),
        stop_on_failure: opts.stop ?? false,
      };
      const hosts: string[] = [];
      // Round-robin over partitions: host i lands in partition i % PARTITIONS.
      while (hosts.length < n) {
        const h = crypto.randomUUID();
        const p = Number.parseInt(newCommandId(h, PARTITIONS).slice(34), 16);
        if (p !== hosts.length % PARTITIONS) continue;
        hosts.push(h);
      }
      const commands = hosts.map((host): Command => ({
        id: newCommandId(host, PARTITIONS),
        host_id: host,
        command: "true",
        args: [],
        status: "queued",
        created_at: now,
        exit_code: null,
        run_id: id,
      }));
      return { run, commands };
    }

    /** The ids released so far (un-held: in their host's pending set, or past queued). */
    async function releasedIds(p: Proc, commands: Command[]): Promise<string[]> {
      const out: string[] = [];
      for (const c of commands) {
        const [hold, status] = await backend.redis.hmget(p.parts.ofCommand(c.id)!.keys.commandMeta(c.id), "hold", "status");
        if (hold === null && status !== null) out.push(c.id);
      }
      return out;
    }

    /** Event types of every partition's log. */
    async function eventTypes(p: Proc): Promise<string[]> {
      const all = await Promise.all(p.parts.all.map((part) => backend.redis.xrange(part.keys.log, "-", "+")));
      return all.flat().map(([, f]) => f[f.indexOf("t") + 1]!);
    }

    const finishOk = (p: Proc, c: Command) =>
      p.commands.finish(c.id, { status: "succeeded", exitCode: 0, now: Date.now(), hostId: c.host_id });

    test("max_parallel 3 over 12 commands in 4 partitions, three engines at once: each released once, the window held, the shards summed", async () => {
      const prefix = backend.newPrefix();
      const procs = [proc(prefix), proc(prefix), proc(prefix)];
      const { run, commands } = newRun(12, { maxParallel: 3 });
      expect(new Set(commands.map((c) => procs[0]!.parts.ofCommand(c.id)!.index)).size).toBe(PARTITIONS);
      expect(await procs[0]!.runs.create(run, commands, Date.now())).toBe(true);
      expect(await procs[1]!.runs.get(run.id)).toMatchObject({ status: "running", total: 12, counts: { queued: 12 } });
      let maxOut = 0;
      const finished = new Set<string>();
      await Promise.all(procs.map((p) => p.engine.kick(run.id)));
      while (finished.size < commands.length) {
        const out = (await releasedIds(procs[0]!, commands)).filter((id) => !finished.has(id));
        maxOut = Math.max(maxOut, out.length);
        expect(out.length).toBeGreaterThan(0);
        await Promise.all(
          out.map(async (id, i) => {
            const c = commands.find((x) => x.id === id)!;
            const p = procs[i % procs.length]!;
            expect(await p.commands.claim(c, c.host_id, Date.now())).not.toBeNull();
            expect(await finishOk(p, c)).toBe("finished");
            finished.add(id);
          }),
        );
        await Promise.all(procs.map((p) => p.engine.kick(run.id)));
      }
      expect(maxOut).toBeLessThanOrEqual(3);
      const s = await procs[2]!.runs.state(run.id);
      expect(s?.state.counts).toEqual({ ...zeroCounts(), succeeded: 12 });
      expect(s?.state).toMatchObject({ status: "finished", next: 12, active: 0, reserved: null });
      // Each partition's shard counts its own three commands.
      for (const part of procs[0]!.parts.all) {
        expect(await backend.redis.hmget(part.keys.runCounts(run.id), "succeeded", "queued", "active")).toEqual(["3", "0", "0"]);
      }
      const types = await eventTypes(procs[0]!);
      expect(types.filter((t) => t === "command_started")).toHaveLength(12);
      // The run's own events are in its home partition's log only.
      const home = procs[0]!.parts.ofHost(run.id);
      for (const part of procs[0]!.parts.all) {
        const updates = (await backend.redis.xrange(part.keys.log, "-", "+")).filter(([, f]) => f[f.indexOf("t") + 1] === "run_update");
        if (part === home) expect(updates.length).toBeGreaterThanOrEqual(2);
        else expect(updates).toHaveLength(0);
      }
      expect(await procs[1]!.runs.get(run.id)).toMatchObject({ status: "finished", counts: { succeeded: 12 } });
      expect(await procs[0]!.runs.dirty()).not.toContain(run.id);
      expect((await procs[0]!.runs.commandsOf(run.id)).map((c) => c.id)).toEqual(commands.map((c) => c.id));
      for (const p of procs) p.engine.close();
    });

    test("stop_on_failure: a failure in one partition cancels the held commands of every partition, and releases nothing more", async () => {
      const prefix = backend.newPrefix();
      const a = proc(prefix);
      const { run, commands } = newRun(8, { maxParallel: 2, stop: true });
      await a.runs.create(run, commands, Date.now());
      await a.engine.kick(run.id);
      const [first, second] = commands;
      expect(await releasedIds(a, commands)).toEqual([first!.id, second!.id]);
      expect(await a.commands.claim(first!, first!.host_id, Date.now())).not.toBeNull();
      expect(await a.commands.claim(second!, second!.host_id, Date.now())).not.toBeNull();
      await a.commands.finish(first!.id, { status: "failed", exitCode: 1, now: Date.now(), hostId: first!.host_id });
      await a.engine.kick(run.id);
      expect(await a.runs.get(run.id)).toMatchObject({ status: "running", counts: { failed: 1, running: 1, cancelled: 6 } });
      expect(await finishOk(a, second!)).toBe("finished");
      await a.engine.kick(run.id);
      const s = await a.runs.state(run.id);
      expect(s?.state).toMatchObject({
        status: "finished",
        failures: 1,
        active: 0,
        counts: { ...zeroCounts(), failed: 1, succeeded: 1, cancelled: 6 },
      });
      expect((await eventTypes(a)).filter((t) => t === "command_started")).toHaveLength(2);
      a.engine.close();
    });

    test("cancel: every command not yet finished, in every partition, ends cancelled and the run ends cancelled", async () => {
      const prefix = backend.newPrefix();
      const a = proc(prefix);
      const { run, commands } = newRun(6, { maxParallel: 2 });
      await a.runs.create(run, commands, Date.now());
      await a.engine.kick(run.id);
      expect(await a.commands.claim(commands[0]!, commands[0]!.host_id, Date.now())).not.toBeNull();
      expect(await a.runs.requestCancel(run.id)).toBe(true);
      expect(await a.runs.requestCancel(run.id)).toBe(false);
      await a.engine.kick(run.id);
      // The running one is stopped on its host (the api sends the cancel); it reports cancelled.
      await a.commands.finish(commands[0]!.id, { status: "cancelled", exitCode: null, now: Date.now(), hostId: commands[0]!.host_id });
      await a.engine.kick(run.id);
      const got = await a.runs.get(run.id);
      expect(got).toMatchObject({ status: "cancelled", cancel_requested: true, counts: { ...zeroCounts(), cancelled: 6 } });
      expect((await eventTypes(a)).filter((t) => t === "command_started")).toHaveLength(1);
      a.engine.close();
    });

    test("a process that dies between a release's home step and its un-holds: the sweep completes the reservation, once", async () => {
      const prefix = backend.newPrefix();
      const dead = proc(prefix, false);
      const { run, commands } = newRun(6, { maxParallel: 3 });
      await dead.runs.create(run, commands, Date.now());
      const before = (await dead.runs.state(run.id))!.state;
      // Only the first half of a release: `next` moved, nothing un-held.
      const range = await dead.runs.reserve(run.id, before, 3);
      expect(range).toEqual({ from: 0, to: 3 });
      const mid = (await dead.runs.state(run.id))!.state;
      expect(mid).toMatchObject({ next: 3, active: 0, reserved: { from: 0, to: 3 } });
      expect(await releasedIds(dead, commands)).toEqual([]);
      // Another release cannot start while one is outstanding.
      expect(await dead.runs.reserve(run.id, mid, 3)).toBeNull();
      expect(await dead.runs.dirty()).toContain(run.id);
      const sweeper = proc(prefix);
      expect(await sweeper.engine.sweep()).toBeGreaterThanOrEqual(1);
      expect(await releasedIds(sweeper, commands)).toEqual(commands.slice(0, 3).map((c) => c.id));
      const after = (await sweeper.runs.state(run.id))!.state;
      expect(after).toMatchObject({ next: 3, active: 3, reserved: null });
      // The dead process's late completion (say it was only paused) un-holds nothing twice.
      await dead.runs.completeReservation(run.id, range!, Date.now(), mid);
      expect((await sweeper.runs.state(run.id))!.state).toMatchObject({ next: 3, active: 3, reserved: null });
      const delivered = (
        await Promise.all(commands.map((c) => backend.redis.zscore(sweeper.parts.ofCommand(c.id)!.keys.hostPending(c.host_id), c.id)))
      ).filter((x) => x !== null);
      expect(delivered).toHaveLength(3);
      // And the run goes on to the end.
      for (const c of commands.slice(0, 3)) {
        await sweeper.commands.claim(c, c.host_id, Date.now());
        await finishOk(sweeper, c);
      }
      await sweeper.engine.kick(run.id);
      expect(await releasedIds(sweeper, commands)).toHaveLength(6);
      sweeper.engine.close();
    });

    test("the runs list is merged over the home partitions, newest first, paged with before", async () => {
      const prefix = backend.newPrefix();
      const a = proc(prefix);
      const made: Run[] = [];
      for (let i = 0; i < 9; i++) {
        const { run, commands } = newRun(1);
        // Two runs per millisecond: ties on created_at are ordered by id, as ZREVRANGE does.
        const r = { ...run, created_at: 1_000_000 + Math.floor(i / 2) };
        await a.runs.create(
          r,
          commands.map((c) => ({ ...c, created_at: r.created_at })),
          r.created_at,
        );
        made.push(r);
      }
      expect(new Set(made.map((r) => a.parts.ofHost(r.id).index)).size).toBeGreaterThan(1);
      const expected = [...made].sort((x, y) => y.created_at - x.created_at || (y.id > x.id ? 1 : -1)).map((r) => r.id);
      const seen: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await a.runs.list(2, before, () => true);
        expect(page).not.toBeNull();
        if (!page!.length) break;
        seen.push(...page!.map((r) => r.id));
        before = page!.at(-1)!.id;
      }
      expect(seen).toEqual(expected);
      expect(await a.runs.list(5, crypto.randomUUID(), () => true)).toBeNull();
      a.engine.close();
    });
  });
}

suite(`LOG_PARTITIONS=${PARTITIONS} on one redis-server`, async () => {
  const server: TestRedis = await startTestRedis();
  const redis = newRedisClient(server.url);
  return {
    redis,
    newPrefix: () => server.newPrefix(),
    stop: async () => {
      await closeClient(redis);
      await server.stop();
    },
  };
});

suite(`LOG_PARTITIONS=${PARTITIONS} on a 3-master Redis Cluster`, async () => {
  const cluster: TestCluster = await startTestCluster();
  const redis = createClusterClient(
    clusterTarget(cluster.url),
    "command",
    createLogger({ level: "silent", nodeId: "test", service: "runs" }),
  );
  await whenReady(redis);
  let n = 0;
  return {
    redis,
    newPrefix: () => `${cluster.prefix}${n++}`,
    stop: async () => {
      await closeRedis(redis);
      await cluster.stop();
    },
  };
});
