/**
 * The browser-frame format (browser-frame.ts) against what the Lua scripts really build: every
 * message they publish, on a real Redis, splits by the envelope reader, each frame parses as JSON,
 * and the offset readers give the id and type JSON.parse does. The same frames rebuilt from the
 * log by the TypeScript encoders are the same bytes.
 */
import fc from "fast-check";
import type { Redis } from "ioredis";
import type { FleetEvent, FleetEventType } from "@tether/protocol";
import { EventLog, createKeys, envelopeOf, frameId, frameType, newCommand, readEnvelope, sameEpoch, eventIdMs, type Keys } from "../src";
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

/** Every message published on this log's channel, in order; `until(n)` resolves once n arrived. */
async function listen(keys: Keys): Promise<{ messages: Buffer[]; until(n: number): Promise<void>; stop(): Promise<void> }> {
  const messages: Buffer[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const onMessage = (channel: Buffer, message: Buffer) => {
    if (channel.toString() !== keys.eventsChannel) return;
    messages.push(message);
    for (const w of waiters.filter((x) => messages.length >= x.n)) w.resolve();
  };
  sub.on("messageBuffer", onMessage);
  await sub.subscribe(keys.eventsChannel);
  return {
    messages,
    until: (n) => (messages.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    stop: async () => {
      await sub.unsubscribe(keys.eventsChannel);
      sub.off("messageBuffer", onMessage);
    },
  };
}

/** Each frame of a published message read both ways: by the offset readers and by JSON.parse. */
function readBoth(message: Buffer): Array<{ byOffset: { id: string; type: string }; parsed: { id: string; type: string; ts: number } }> {
  const env = readEnvelope(message);
  expect(env).not.toBeNull();
  const out = [];
  for (const line of env!.body.toString("utf8").split("\n")) {
    const frame = Buffer.from(line);
    const parsed = JSON.parse(line) as { id: string; type: string; ts: number };
    out.push({ byOffset: { id: frameId(frame), type: frameType(frame) }, parsed });
    expect(eventIdMs(parsed.id)).toBe(parsed.ts);
  }
  return out;
}

const now = 1_795_311_252_783;
const host = { id: "h1", name: "web-1", status: "online" as const, team_id: "ops", labels: { role: "web" }, last_seen: now };
const command = { ...newCommand({ hostId: "h1", command: "echo", args: ['"id":"not-this"', "ü ✓"], now }), id: "c1" };
const run = {
  id: "r1",
  command: "uptime",
  args: [],
  status: "running" as const,
  counts: { queued: 1, running: 0, succeeded: 0, failed: 0, rejected: 0, cancelled: 0, timed_out: 0, expired: 0, lost: 0 },
  total: 1,
  created_at: now,
  requested_by: { type: "user" as const, id: "u1", name: "admin" },
  team_id: "ops",
};
/** One event of every type the system emits (the compiler checks none is missing). */
const samples: { [T in FleetEventType]: Extract<FleetEvent, { type: T }> } = {
  host_update: { type: "host_update", payload: { host } },
  host_removed: { type: "host_removed", payload: { host_id: "h1" } },
  command_queued: { type: "command_queued", payload: { command } },
  command_started: { type: "command_started", payload: { command: { ...command, status: "running" } } },
  command_output: { type: "command_output", payload: { command_id: "c1", host_id: "h1", seq: 0, stream: "stdout", data: 'a "q"\t\\' } },
  command_finished: {
    type: "command_finished",
    payload: { command_id: "c1", host_id: "h1", exit_code: 0, status: "succeeded", reason: '"id":"x"', finished_at: now },
  },
  run_released: { type: "run_released", payload: { run_id: "r1", next: 1 } },
  run_cancelled: { type: "run_cancelled", payload: { run_id: "r1" } },
  run_update: { type: "run_update", payload: { run } },
};

test("every event type, alone and with a follow-up (`then`), and a run of output: each published frame reads back the id and type JSON.parse does", async () => {
  const keys = createKeys(server.newPrefix());
  const log = new EventLog({ redis, keys, maxLen: 1000 });
  await redis.hset(keys.hostTeams, "h1", "ops");
  await redis.hset(keys.commandMeta("c1"), "host", "h1", "next_seq", 0, "status", "running");
  const channel = await listen(keys);

  const returned: string[] = [];
  for (const event of Object.values(samples)) {
    const res = await log.append({ event, ...(event.type.startsWith("run_") ? { team: "ops" } : {}) });
    expect(res.ok).toBe(true);
    returned.push((res as { frame: string }).frame);
  }
  // A host moving team: its update to the new team, then its removal for those who lose sight of it.
  const moved = await log.append({
    event: { type: "host_update", payload: { host: { ...host, team_id: "dev" } } },
    team: "dev",
    then: { event: samples.host_removed, team: "ops", except: "dev" },
  });
  expect(moved.ok).toBe(true);
  // Output: text that could break a splice (quotes, backslash, the message separator, a tab, non-ASCII).
  const data = ['one "two" \\ three\n', "\tü ✓ 🚀", '"id":"fake","type":"x"'];
  const results = await log.appendOutputs(
    "h1",
    data.map((d, seq) => ({
      commandId: "c1",
      seq,
      stream: seq === 1 ? ("stderr" as const) : ("stdout" as const),
      dataJson: JSON.stringify(d),
    })),
  );
  expect(results).toBe("sss");

  const types = Object.keys(samples).length;
  await channel.until(types + 2 + 1);
  await channel.stop();
  const frames = channel.messages.flatMap(readBoth);
  expect(frames).toHaveLength(types + 2 + data.length);
  for (const f of frames) expect(f.byOffset).toEqual({ id: f.parsed.id, type: f.parsed.type });
  expect(frames.map((f) => f.parsed.type)).toEqual([
    ...Object.keys(samples),
    "host_update",
    "host_removed",
    ...data.map(() => "command_output"),
  ]);
  // Ids are unique, of one epoch, and sort as strings in log order.
  const ids = frames.map((f) => f.parsed.id);
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.every((id) => sameEpoch(id, ids[0]!))).toBe(true);
  // What append returns is the published frame.
  expect(channel.messages.slice(0, types).map((m) => readEnvelope(m)!.body.toString())).toEqual(returned);
  expect(readEnvelope(channel.messages[types + 1]!)).toMatchObject({ team: "ops", except: "dev" });

  // The TypeScript encoders rebuild every published message byte for byte from the log (replay,
  // backfill); the run of output was one message, the log holds its frames one by one.
  const { entries } = await log.readFrames(await log.epoch(), "-", 100);
  const rebuilt = entries.map(envelopeOf);
  const published = channel.messages.slice(0, -1).map((m) => m.toString("utf8"));
  const outputRun = channel.messages.at(-1)!.toString("utf8");
  expect(rebuilt.slice(0, -data.length)).toEqual(published);
  expect(
    `ops\t${entries
      .slice(-data.length)
      .map((e) => e.frame)
      .join("\n")}`,
  ).toBe(outputRun);
});

test("any output text, any team: the Lua's frames parse and read back the same id and type (property)", async () => {
  const keys = createKeys(server.newPrefix());
  const log = new EventLog({ redis, keys, maxLen: 10_000 });
  await redis.hset(keys.commandMeta("c1"), "host", "h1", "next_seq", 0, "status", "running");
  const team = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,47}$/);
  let seq = 0;
  let published = 0;
  const channel = await listen(keys);
  await fc.assert(
    fc.asyncProperty(team, fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 4 }), async (t, texts) => {
      await redis.hset(keys.hostTeams, "h1", t);
      const frames = texts.map((d) => ({ commandId: "c1", seq: seq++, stream: "stdout" as const, dataJson: JSON.stringify(d) }));
      expect(await log.appendOutputs("h1", frames)).toBe("s".repeat(texts.length));
      await channel.until(++published);
      const message = channel.messages[published - 1]!;
      expect(readEnvelope(message)).toMatchObject({ team: t, except: "" });
      const read = readBoth(message);
      expect(read.map((f) => f.byOffset)).toEqual(read.map((f) => ({ id: f.parsed.id, type: "command_output" })));
      expect(read.map((f) => (f.parsed as unknown as { payload: { data: string } }).payload.data)).toEqual(texts);
    }),
    { numRuns: 100 },
  );
  await channel.stop();
});
