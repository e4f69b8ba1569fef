import type { Redis } from "ioredis";
import { createKeys, createLogger, createPartitionedKeys, type Keys } from "@tether/core";
import { Subscriptions, channelsOf } from "../src/subscriptions";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let sub: Redis;
let admin: Redis;
let subs: Subscriptions;
let keys: Keys;
const heard: Array<[string, string]> = [];
/** Resolvers waiting for a message on one host's channel (see {@link heardFrom}). */
const waiting = new Map<string, () => void>();

/** Resolves when the handler is called for `hostId`. Call it before publishing, so it cannot miss the message. */
function heardFrom(hostId: string): Promise<void> {
  return new Promise<void>((resolve) => waiting.set(hostId, resolve));
}

beforeAll(async () => {
  server = await startTestRedis();
  // The suite's random prefix: runs (and other suites on a shared REDIS_URL) never hear each other.
  keys = createKeys(server.prefix);
  sub = newRedisClient(server.url);
  admin = newRedisClient(server.url);
  subs = new Subscriptions(
    sub,
    channelsOf(createPartitionedKeys(server.prefix, 1)),
    createLogger({ level: "silent", nodeId: "t", service: "test" }),
    {
      onEvent: () => undefined,
      onControl: () => undefined,
      onHost: (hostId, msg) => {
        heard.push([hostId, msg.kind]);
        waiting.get(hostId)?.();
        waiting.delete(hostId);
      },
      onResubscribed: () => undefined,
      onEventsDropped: () => undefined,
    },
  );
  await subs.start();
});
afterAll(async () => {
  await closeClient(sub);
  await closeClient(admin);
  await server?.stop();
});

/** Subscribers Redis counts on each host's channel. */
async function subscribers(...hostIds: string[]): Promise<number[]> {
  const flat = (await admin.call("PUBSUB", "NUMSUB", ...hostIds.map((h) => keys.hostChannel(h)))) as Array<string | number>;
  return flat.filter((_, i) => i % 2 === 1).map(Number);
}

test("hosts added in one turn are subscribed together, and their messages arrive", async () => {
  await Promise.all(["a", "b", "c"].map((h) => subs.addHost(h)));
  expect(await subscribers("a", "b", "c")).toEqual([1, 1, 1]);
  // "c" is the barrier: Redis delivers in publish order on one connection, so once "c"'s message
  // reached the handler, "b"'s did before it. The waiter is set before anything is published.
  const barrier = heardFrom("c");
  await admin.publish(keys.hostChannel("b"), JSON.stringify({ kind: "revoked", node: "x" }));
  await admin.publish(keys.hostChannel("c"), JSON.stringify({ kind: "revoked", node: "x" }));
  await barrier;
  expect(heard).toEqual([
    ["b", "revoked"],
    ["c", "revoked"],
  ]);
});

test("a host removed before its batch went out is never subscribed; one removed after is unsubscribed", async () => {
  const adding = subs.addHost("gone-early");
  await subs.removeHost("gone-early");
  await adding;
  await subs.addHost("gone-late");
  expect(await subscribers("gone-early", "gone-late")).toEqual([0, 1]);
  await subs.removeHost("gone-late");
  expect(await subscribers("gone-late")).toEqual([0]);
});

test("references are counted: a host held twice stays subscribed until both let go", async () => {
  await Promise.all([subs.addHost("twice"), subs.addHost("twice")]);
  await subs.removeHost("twice");
  expect(await subscribers("twice")).toEqual([1]);
  await subs.removeHost("twice");
  expect(await subscribers("twice")).toEqual([0]);
});

describe("the events channel, heard only while a browser needs it", () => {
  let eventsSub: Redis;
  let events: Subscriptions;
  const got: string[] = [];
  let onHostMessage: (() => void) | null = null;
  let onDropped: (() => void) | null = null;
  /** Resolves when the next host-channel message (the barrier) reached the handler. */
  const nextHostMessage = () => new Promise<void>((resolve) => (onHostMessage = resolve));
  const numsub = async () => Number(((await admin.call("PUBSUB", "NUMSUB", keys.eventsChannel)) as Array<string | number>)[1]);

  beforeAll(async () => {
    eventsSub = newRedisClient(server.url);
    events = new Subscriptions(
      eventsSub,
      channelsOf(createPartitionedKeys(server.prefix, 1)),
      createLogger({ level: "silent", nodeId: "t", service: "test" }),
      {
        onEvent: (frame, partition) => got.push(`${partition}:${frame.toString()}`),
        onControl: () => undefined,
        onHost: () => onHostMessage?.(),
        onResubscribed: () => undefined,
        onEventsDropped: () => onDropped?.(),
      },
      50,
    );
    await events.start();
    await events.addHost("barrier");
  });
  afterAll(() => closeClient(eventsSub));

  /** Publish an event, then a message on the barrier host's channel; resolve once the barrier arrived. */
  async function publishThenBarrier(event: string): Promise<void> {
    const barrier = nextHostMessage();
    await admin.publish(keys.eventsChannel, event);
    await admin.publish(keys.hostChannel("barrier"), JSON.stringify({ kind: "revoked", node: "x" }));
    await barrier;
  }

  test("an agents-only hub does not hear events; a held one does, from the moment the hold resolves", async () => {
    expect(await numsub()).toBe(0);
    await publishThenBarrier("before");
    expect(got).toEqual([]);
    await events.holdEvents();
    expect(await numsub()).toBe(1);
    await publishThenBarrier("held");
    expect(got).toEqual(["0:held"]);
  });

  test("held twice, let go twice: unsubscribed once the linger has passed, and the relay is told", async () => {
    await events.holdEvents(); // the second hold (the first test holds one)
    events.releaseEvents();
    events.releaseEvents();
    await new Promise<void>((resolve) => (onDropped = resolve));
    await publishThenBarrier("after");
    expect(got).toEqual(["0:held"]);
    expect(await numsub()).toBe(0);
  });

  test("a hold after the channel was let go subscribes it again", async () => {
    await events.holdEvents();
    await publishThenBarrier("again");
    expect(got).toEqual(["0:held", "0:again"]);
    events.releaseEvents();
  });
});

describe("with partitions", () => {
  test("a hold hears every partition's events channel, each message told with its partition", async () => {
    const pkeys = createPartitionedKeys(`${server.prefix}:parts`, 4);
    const client = newRedisClient(server.url);
    const got: string[] = [];
    let onHost: (() => void) | undefined;
    const subs4 = new Subscriptions(client, channelsOf(pkeys), createLogger({ level: "silent", nodeId: "t", service: "test" }), {
      onEvent: (frame, partition) => got.push(`${partition}:${frame.toString()}`),
      onControl: () => undefined,
      onHost: () => onHost?.(),
      onResubscribed: () => undefined,
      onEventsDropped: () => undefined,
    });
    try {
      await subs4.start();
      await subs4.addHost("barrier");
      await subs4.holdEvents();
      const channels = pkeys.all.map((k) => k.eventsChannel);
      expect(new Set(channels).size).toBe(4);
      const flat = (await admin.call("PUBSUB", "NUMSUB", ...channels)) as Array<string | number>;
      expect(flat.filter((_, i) => i % 2 === 1).map(Number)).toEqual([1, 1, 1, 1]);
      const barrier = new Promise<void>((resolve) => (onHost = resolve));
      for (const p of [2, 0, 3, 1]) await admin.publish(channels[p]!, `e${p}`);
      await admin.publish(pkeys.forHost("barrier").hostChannel("barrier"), JSON.stringify({ kind: "revoked", node: "x" }));
      await barrier;
      expect(got).toEqual(["2:e2", "0:e0", "3:e3", "1:e1"]);
    } finally {
      await closeClient(client);
    }
  });
});
