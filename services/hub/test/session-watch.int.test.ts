/** SessionWatch against a real Redis: the per-session socket count across hubs, and gone sessions. */
import type { Redis } from "ioredis";
import { createKeys, createLogger, systemClock, type Clock } from "@tether/core";
import { SESSION_CHECK_MS, SOCKET_CLAIM_MS, SessionWatch, type WatchedSocket } from "../src/connections/session-watch";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";

let server: TestRedis;
let redis: Redis;
const log = createLogger({ level: "silent", nodeId: "t", service: "test" });

beforeAll(async () => {
  server = await startTestRedis();
  redis = newRedisClient(server.url);
});
afterAll(async () => {
  await closeClient(redis);
  await server?.stop();
});

/** A clock the test moves; timers are never started (tick() is called by hand). */
function clockAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { ...systemClock, now: () => now, advance: (ms) => void (now += ms) };
}

function hub(node: string, keys: ReturnType<typeof createKeys>, clock: Clock, held: WatchedSocket[], gone: string[] = []) {
  return new SessionWatch(
    redis,
    keys,
    node,
    3,
    clock,
    log,
    () => held,
    (sid) => gone.push(sid),
  );
}

test("at most MAX_SOCKETS_PER_SESSION claims across hubs; a release frees one; other sessions are not affected", async () => {
  const keys = createKeys(server.newPrefix());
  const clock = clockAt(Date.now());
  const a = hub("a", keys, clock, []);
  const b = hub("b", keys, clock, []);
  expect(await a.claim("s1", a.newClaim())).toBe(true);
  const second = b.newClaim();
  expect(await b.claim("s1", second)).toBe(true);
  expect(await a.claim("s1", a.newClaim())).toBe(true);
  expect(await b.claim("s1", b.newClaim())).toBe(false);
  expect(await a.claim("s2", a.newClaim())).toBe(true);
  b.release("s1", second);
  expect(await b.claim("s1", b.newClaim())).toBe(true);
  expect(await redis.zcard(keys.sessionSockets("s1"))).toBe(3);
});

test("a hub that stops refreshing (kill -9) stops counting once its claims lapse; a live hub's refresh keeps its own", async () => {
  const keys = createKeys(server.newPrefix());
  const clock = clockAt(Date.now());
  const sid = "s1";
  await redis.set(keys.session(sid), "{}");
  const liveHeld: WatchedSocket[] = [];
  const live = hub("live", keys, clock, liveHeld);
  const dead = hub("dead", keys, clock, []);
  const mine = live.newClaim();
  expect(await live.claim(sid, mine)).toBe(true);
  liveHeld.push({ sid, claim: mine, sessionFreshUntil: 0 });
  expect(await dead.claim(sid, dead.newClaim())).toBe(true);
  expect(await dead.claim(sid, dead.newClaim())).toBe(true);
  expect(await live.claim(sid, live.newClaim())).toBe(false);
  // Time passes; only the live hub ticks (the dead one was killed).
  for (let t = 0; t <= SOCKET_CLAIM_MS; t += SESSION_CHECK_MS) {
    clock.advance(SESSION_CHECK_MS);
    await live.tick();
  }
  const next = live.newClaim();
  expect(await live.claim(sid, next)).toBe(true);
  expect(await redis.zrange(keys.sessionSockets(sid), "0", "-1")).toEqual(expect.arrayContaining([mine, next]));
  expect(await redis.zcard(keys.sessionSockets(sid))).toBe(2);
});

test("a session deleted or expired in the store: the tick reports it gone, and alive() says false past the 1 s cache", async () => {
  const keys = createKeys(server.newPrefix());
  const clock = clockAt(Date.now());
  await redis.set(keys.session("s1"), "{}");
  await redis.set(keys.session("s2"), "{}");
  const s1: WatchedSocket = { sid: "s1", claim: "h:1", sessionFreshUntil: 0 };
  const s2: WatchedSocket = { sid: "s2", claim: "h:2", sessionFreshUntil: 0 };
  const gone: string[] = [];
  const watch = hub("h", keys, clock, [s1, s2], gone);
  expect(await watch.alive(s1)).toBe(true);
  await redis.del(keys.session("s1"));
  // Cached: within a second of the last answer no question is asked.
  expect(await watch.alive(s1)).toBe(true);
  clock.advance(SESSION_CHECK_MS);
  expect(await watch.alive(s1)).toBe(false);
  await watch.tick();
  expect(gone).toEqual(["s1"]);
  await redis.pexpire(keys.session("s2"), 1);
  // Expired by Redis itself: EXISTS sees it gone once the millisecond has passed.
  while (await redis.exists(keys.session("s2"))) await new Promise((r) => setImmediate(r));
  await watch.tick();
  expect(gone).toEqual(["s1", "s1", "s2"]);
});
