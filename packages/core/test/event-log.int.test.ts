/** The atomic append (Lua: guards, projection ops, XADD, PUBLISH) against a real Redis. */
import type { Redis } from "ioredis";
import { CommandStore, EventLog, PartitionSet, ORIGIN_ID, createKeys, formatEventId, newCommand, truncatedMarker, type Keys } from "../src";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let redis: Redis;
let sub: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = newRedisClient(server.url);
  sub = newRedisClient(server.url);
});
afterAll(async () => {
  await closeClient(redis);
  await closeClient(sub);
  await server.stop();
});

function fresh(maxLen = 1000): { keys: Keys; log: EventLog } {
  const keys = createKeys(server.newPrefix());
  return { keys, log: new EventLog({ redis, keys, maxLen }) };
}

const host = (id: string, status: "online" | "offline" = "offline") => ({ id, name: id, status });

test("append writes the projection, the log and the channel in one step; the published frame is the logged one", async () => {
  const { keys, log } = fresh();
  const published: string[] = [];
  await sub.subscribe(keys.eventsChannel);
  const got = new Promise<void>((resolve) =>
    sub.on("message", (channel: string, message: string) => {
      if (channel === keys.eventsChannel) {
        published.push(message);
        resolve();
      }
    }),
  );
  const res = await log.append({
    event: { type: "host_update", payload: { host: host("h1") } },
    ops: [{ cmd: "HSET", key: keys.hosts, args: ["h1", JSON.stringify(host("h1"))] }],
  });
  expect(res.ok).toBe(true);
  await got;
  const frame = (res as { frame: string }).frame;
  // Published behind its envelope: the host's team (none recorded: `default`), then a tab.
  expect(published).toEqual([`default\t${frame}`]);
  const epoch = await log.epoch();
  expect(epoch).toMatch(/^[0-9a-f]{8}$/);
  const { frames } = await log.readFrames(epoch, "-", 10);
  expect(frames).toEqual([frame]);
  expect(JSON.parse(frame)).toMatchObject({ type: "host_update", payload: { host: host("h1") } });
  expect(await redis.hget(keys.hosts, "h1")).toBe(JSON.stringify(host("h1")));
  await sub.unsubscribe(keys.eventsChannel);
});

test("a follow-up event (`then`) is logged and published right after the first, in the same step; a failed guard writes neither", async () => {
  const { keys, log } = fresh();
  const published: string[] = [];
  await sub.subscribe(keys.eventsChannel);
  const both = new Promise<void>((resolve) =>
    sub.on("message", (channel: string, message: string) => {
      if (channel !== keys.eventsChannel) return;
      published.push(message);
      if (published.length === 2) resolve();
    }),
  );
  const moved = { ...host("h9"), team_id: "b" };
  await redis.hset(`${keys.prefix}:m9`, "v", "1");
  const refused = await log.append({
    event: { type: "host_update", payload: { host: moved } },
    guards: [{ key: `${keys.prefix}:m9`, field: "v", equals: "0" }],
    team: "b",
    then: { event: { type: "host_removed", payload: { host_id: "h9" } }, team: "a", except: "b" },
  });
  expect(refused.ok).toBe(false);
  expect(await redis.xlen(keys.log)).toBe(0);
  const res = await log.append({
    event: { type: "host_update", payload: { host: moved } },
    guards: [{ key: `${keys.prefix}:m9`, field: "v", equals: "1" }],
    team: "b",
    then: { event: { type: "host_removed", payload: { host_id: "h9" } }, team: "a", except: "b" },
  });
  expect(res.ok).toBe(true);
  await both;
  const { entries } = await log.readFrames(await log.epoch(), "-", 10);
  expect(entries.map((e) => [JSON.parse(e.frame).type, e.team, e.except])).toEqual([
    ["host_update", "b", ""],
    ["host_removed", "a", "b"],
  ]);
  // Published in that order, each behind its own audience.
  expect(published.map((m) => m.slice(0, m.indexOf("\t")))).toEqual(["b", "a b"]);
  expect(published.map((m) => m.slice(m.indexOf("\t") + 1))).toEqual(entries.map((e) => e.frame));
  await sub.unsubscribe(keys.eventsChannel);
});

test("a failed guard writes nothing at all and says which guard and what it found", async () => {
  const { keys, log } = fresh();
  await redis.hset(`${keys.prefix}:meta`, "v", "3");
  const res = await log.append({
    event: { type: "host_removed", payload: { host_id: "h1" } },
    guards: [
      { key: `${keys.prefix}:meta`, field: "v", equals: "3" },
      { key: `${keys.prefix}:meta`, field: "owner", equals: "me" },
    ],
    ops: [{ cmd: "HSET", key: keys.hosts, args: ["h1", "x"] }],
  });
  expect(res).toEqual({ ok: false, failedGuard: 2, actual: "" });
  expect(await redis.exists(keys.log, keys.hosts)).toBe(0);
});

test("resume points: an id in the log resumes; a trimmed, foreign-epoch or malformed id asks for a resync", async () => {
  const { log } = fresh(100);
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) {
    const res = await log.append({ event: { type: "host_removed", payload: { host_id: `h${i}` } } });
    ids.push(JSON.parse((res as { frame: string }).frame).id);
  }
  const epoch = await log.epoch();
  // MAXLEN ~ keeps at least 100; the first ones are gone.
  expect(await log.resumePoint(ids[0]!)).toBeNull();
  expect(await log.resumePoint(ids[299]!)).toEqual({ epoch, streamId: expect.any(String) });
  const other = ids[299]!.replace(/-[^-]+$/, "-ffffffff");
  expect(await log.resumePoint(other)).toBeNull();
  expect(await log.resumePoint("garbage")).toBeNull();
  // The origin id resumes only while nothing was ever trimmed.
  expect(await log.resumePoint(ORIGIN_ID)).toBeNull();
  const point = await log.resumePoint(ids[250]!);
  const { frames } = await log.readFrames(epoch, point!.streamId, 1000);
  expect(frames.map((f) => JSON.parse(f).id)).toEqual(ids.slice(251));
});

test("a new log gets a new epoch, so ids from before Redis lost its data never resume", async () => {
  const { keys, log } = fresh();
  const first = await log.append({ event: { type: "host_removed", payload: { host_id: "a" } } });
  const oldId = JSON.parse((first as { frame: string }).frame).id as string;
  expect(await log.resumePoint(ORIGIN_ID)).toEqual({ epoch: await log.epoch(), streamId: "-" });
  await redis.del(keys.log, keys.logEpoch);
  const second = new EventLog({ redis, keys, maxLen: 1000 });
  await second.append({ event: { type: "host_removed", payload: { host_id: "b" } } });
  expect(await second.resumePoint(oldId)).toBeNull();
  expect(formatEventId("1-0", "x")).toBe("0000000000001-00000000-x");
});

test("a run of output frames: each checked in order, stored ones logged and published together in one message", async () => {
  const { keys, log } = fresh();
  const meta = keys.commandMeta("c1");
  await redis.hset(meta, "host", "h1", "next_seq", 0, "status", "running");
  const got = new Promise<string>((resolve) => {
    sub.on("message", (channel: string, message: string) => channel === keys.eventsChannel && resolve(message));
  });
  await sub.subscribe(keys.eventsChannel);
  // Text a splice could break: quotes, backslashes, a newline (the message separator), non-ASCII.
  const data = (seq: number) => `line ${seq} "q" \\ ü ✓\n`;
  const frame = (seq: number) => ({
    commandId: "c1",
    seq,
    stream: seq === 1 ? ("stderr" as const) : ("stdout" as const),
    dataJson: JSON.stringify(data(seq)),
  });
  expect(await log.appendOutputs("h1", [frame(0), frame(1), frame(1), frame(5), frame(2)])).toBe("ssdgs");
  const message = await got;
  expect(message.startsWith("default\t")).toBe(true);
  const frames = message
    .slice("default\t".length)
    .split("\n")
    .map((f) => JSON.parse(f));
  expect(frames.map((f) => f.payload)).toEqual(
    [0, 1, 2].map((seq) => ({ command_id: "c1", host_id: "h1", seq, stream: seq === 1 ? "stderr" : "stdout", data: data(seq) })),
  );
  expect(new Set(frames.map((f) => f.id)).size).toBe(3);
  const chunks = (await redis.lrange(keys.commandOutput("c1"), 0, -1)).map((c) => JSON.parse(c));
  expect(chunks).toEqual([0, 1, 2].map((seq) => ({ seq, stream: seq === 1 ? "stderr" : "stdout", data: data(seq) })));
  expect(await redis.xlen(keys.log)).toBe(3);
  // Another host's frames, or a finished command's, are refused and change nothing.
  expect(await log.appendOutputs("h2", [frame(3)])).toBe("u");
  await redis.hset(meta, "status", "succeeded");
  expect(await log.appendOutputs("h1", [frame(3)])).toBe("n");
  expect(await redis.xlen(keys.log)).toBe(3);
  await sub.unsubscribe(keys.eventsChannel);
});

test("a run mixing commands: each frame is checked against its own command, chunks land in its own list", async () => {
  const { keys, log } = fresh();
  for (const id of ["a", "b"]) await redis.hset(keys.commandMeta(id), "host", "h1", "next_seq", 0, "status", "running");
  const f = (commandId: string, seq: number) => ({
    commandId,
    seq,
    stream: "stdout" as const,
    dataJson: JSON.stringify(`${commandId}${seq}`),
  });
  expect(await log.appendOutputs("h1", [f("a", 0), f("b", 0), f("zz", 0), f("a", 1), f("b", 2), f("b", 1), f("a", 1)])).toBe("ssusgsd");
  const list = async (id: string) => (await redis.lrange(keys.commandOutput(id), 0, -1)).map((c) => JSON.parse(c).data);
  expect(await list("a")).toEqual(["a0", "a1"]);
  expect(await list("b")).toEqual(["b0", "b1"]);
  expect(await redis.hget(keys.commandMeta("b"), "next_seq")).toBe("2");
  expect(await redis.exists(keys.commandOutput("zz"))).toBe(0);
});

describe("bounded output (issue 11)", () => {
  test("past MAX_OUTPUT_BYTES_PER_COMMAND one stderr marker is stored, later seqs are dropped (not gaps), the log holds no more", async () => {
    const keys = createKeys(server.newPrefix());
    const log = new EventLog({ redis, keys, maxLen: 1000, maxOutputBytes: 1024 });
    const commands = new CommandStore(redis, PartitionSet.single(log), 60_000);
    const cmd = newCommand({ hostId: "h1", command: "yes", now: Date.now() });
    expect(await commands.queue(cmd)).toBe(true);
    expect(await commands.claim(cmd, "h1", Date.now())).not.toBeNull();
    const piece = "x".repeat(400);
    const frame = (seq: number) => ({ command_id: cmd.id, seq, stream: "stdout" as const, data: piece });
    // 402 bytes each as stored (JSON quotes): two fit in 1024, the third crosses the bound.
    expect(await commands.appendOutputs("h1", [frame(0), frame(1), frame(2), frame(3)])).toEqual([
      "stored",
      "stored",
      "truncated",
      "dropped",
    ]);
    // In a later call too: a resent old seq is a duplicate, a new one is dropped, never a gap.
    expect(await commands.appendOutputs("h1", [frame(1), frame(4), frame(9)])).toEqual(["duplicate", "dropped", "dropped"]);
    const out = await commands.output(cmd.id);
    expect(out.map((c) => c.seq)).toEqual([0, 1, 2]);
    expect(out[2]).toEqual({ seq: 2, stream: "stderr", data: truncatedMarker(1024) });
    const logged = await redis.xrange(keys.log, "-", "+");
    expect(logged.filter(([, f]) => f[1] === "command_output")).toHaveLength(3);
  });

  test("a finished command's output list and meta expire OUTPUT_MAX_AGE_MS after it finished", async () => {
    const keys = createKeys(server.newPrefix());
    const log = new EventLog({ redis, keys, maxLen: 1000 });
    const commands = new CommandStore(redis, PartitionSet.single(log), 60_000);
    const cmd = newCommand({ hostId: "h1", command: "true", now: Date.now() });
    await commands.queue(cmd);
    await commands.claim(cmd, "h1", Date.now());
    await commands.appendOutputs("h1", [{ command_id: cmd.id, seq: 0, stream: "stdout", data: "hi" }]);
    // Running: no expiry yet.
    expect(await redis.pttl(keys.commandOutput(cmd.id))).toBe(-1);
    expect(await commands.finish(cmd.id, { status: "succeeded", exitCode: 0, now: Date.now(), hostId: "h1" })).toBe("finished");
    for (const key of [keys.commandOutput(cmd.id), keys.commandMeta(cmd.id)]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });
});
