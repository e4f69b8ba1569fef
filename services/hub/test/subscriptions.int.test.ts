import type { Redis } from "ioredis";
import { createKeys, createLogger } from "@tether/core";
import { Subscriptions } from "../src/subscriptions";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let sub: Redis;
let admin: Redis;
let subs: Subscriptions;
const keys = createKeys("subs-test:");
const heard: Array<[string, string]> = [];

beforeAll(async () => {
  server = await startTestRedis();
  sub = newRedisClient(server.url);
  admin = newRedisClient(server.url);
  subs = new Subscriptions(sub, keys, createLogger({ level: "silent", nodeId: "t", service: "test" }), {
    onEvent: () => undefined,
    onControl: () => undefined,
    onHost: (hostId, msg) => heard.push([hostId, msg.kind]),
    onResubscribed: () => undefined,
  });
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
  await admin.publish(keys.hostChannel("b"), JSON.stringify({ kind: "revoked", node: "x" }));
  // A barrier on the same connection: Redis delivers in publish order, so "c"'s arrives after "b"'s.
  const arrived = new Promise<void>((resolve) => sub.once("message", () => resolve()));
  await admin.publish(keys.hostChannel("c"), JSON.stringify({ kind: "revoked", node: "x" }));
  await arrived;
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
