/**
 * Issue 11.7: login limits count failures only, per address and per username separately, cap
 * the password hashes in flight, and cannot lock the admin out of an address that is not the
 * failing one. The real api app over a real Redis; TRUST_PROXY on, so each request can claim its
 * client address in X-Forwarded-For (as behind the load balancer).
 */
import { errorCode, send, startApiServer, type ApiServer } from "./support/api-server";

const from = (address: string) => ({ "x-forwarded-for": address });

describe("failures are limited per address, and only failures count", () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ TRUST_PROXY: "1", LOGIN_RATE_LIMIT: "10", LOGIN_USER_RATE_LIMIT: "20" });
  });
  afterAll(() => server?.close());

  test("40 parallel logins with distinct usernames from one address: at most 10 are tried, the rest get 429", async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(server.url, "POST", "/api/session", {
          headers: from("203.0.113.40"),
          body: { username: `user-${i}`, password: "guess-guess" },
        }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    expect(errorCode(replies.find((r) => r.status === 429)!)).toBe("rate_limited");
    // Then the right password from that address waits its window out too…
    expect((await send(server.url, "POST", "/api/session", { headers: from("203.0.113.40"), body: server.admin })).status).toBe(429);
    // …while another address is not touched by it.
    expect((await send(server.url, "POST", "/api/session", { headers: from("203.0.113.41"), body: server.admin })).status).toBe(200);
  });

  test("successful logins are not counted: 12 in a row from one address (over the limit of 10) all succeed", async () => {
    for (let i = 0; i < 12; i++) {
      const res = await send(server.url, "POST", "/api/session", { headers: from("203.0.113.50"), body: server.admin });
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
    }
    // And a failure after them is the address's first: nine more may follow before it is limited.
    const failures = [];
    for (let i = 0; i < 11; i++) {
      failures.push(
        (
          await send(server.url, "POST", "/api/session", {
            headers: from("203.0.113.50"),
            body: { username: "admin", password: "wrong-password" },
          })
        ).status,
      );
    }
    expect(failures).toEqual([...Array(10).fill(401), 429]);
  });
});

describe("the admin cannot be locked out from an address that is not failing", () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ TRUST_PROXY: "1", LOGIN_RATE_LIMIT: "10", LOGIN_USER_RATE_LIMIT: "10" });
  });
  afterAll(() => server?.close());

  test("after one address failed 10+ times, and many addresses failed the admin past its username limit, the right password from a clean address works", async () => {
    const wrong = { username: server.admin.username, password: "not-the-password" };
    const attacker = [];
    for (let i = 0; i < 14; i++)
      attacker.push((await send(server.url, "POST", "/api/session", { headers: from("198.51.100.7"), body: wrong })).status);
    expect(attacker).toEqual([...Array(10).fill(401), ...Array(4).fill(429)]);
    // More failures on the admin from other addresses: the username's own limit (10) is passed.
    const spread = await Promise.all(
      Array.from({ length: 6 }, (_, i) => send(server.url, "POST", "/api/session", { headers: from(`198.51.100.${20 + i}`), body: wrong })),
    );
    expect(spread.map((r) => r.status)).toEqual(Array(6).fill(401));
    // An address that failed once loses its turn at the attacked username…
    expect((await send(server.url, "POST", "/api/session", { headers: from("198.51.100.20"), body: wrong })).status).toBe(429);
    // …but the right password from a clean address still logs in, and the attacker's address is still refused.
    const admin = await send(server.url, "POST", "/api/session", { headers: from("192.0.2.1"), body: server.admin });
    expect(admin.status).toBe(200);
    expect(admin.headers["set-cookie"]).toBeDefined();
    expect((await send(server.url, "POST", "/api/session", { headers: from("198.51.100.7"), body: server.admin })).status).toBe(429);
  });

  test("usernames are not stored in clear in the limiter's keys", async () => {
    const keys = await server.command.keys(`${server.config.REDIS_PREFIX}:rl:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain(server.admin.username);
  });
});

describe("a global cap on password hashes in flight", () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ TRUST_PROXY: "1", LOGIN_MAX_HASHES: "1", LOGIN_MAX_WAITING: "2" });
  });
  afterAll(() => server?.close());

  test("40 parallel logins from 40 addresses with 40 usernames: past 1 hashing and 2 waiting, 503 with Retry-After; none is a 500", async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(server.url, "POST", "/api/session", {
          headers: from(`10.1.0.${i + 1}`),
          body: { username: `spray-${i}`, password: "guess-guess" },
        }),
      ),
    );
    const busy = replies.filter((r) => r.status === 503);
    const tried = replies.filter((r) => r.status === 401);
    expect(busy.length + tried.length).toBe(40);
    // All 40 arrive while the first hash (~50 ms) runs; only the slot and the two waiting get one.
    expect(tried.length).toBeGreaterThanOrEqual(3);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(errorCode(r)).toBe("busy");
      expect(r.headers["retry-after"]).toBe("1");
    }
    // Once the burst is over the gate is free again: the admin logs in.
    expect((await send(server.url, "POST", "/api/session", { headers: from("10.2.0.1"), body: server.admin })).status).toBe(200);
  });
});
