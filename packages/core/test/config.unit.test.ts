import { ConfigError, loadConfig } from "../src/config";
import { redisTarget } from "../src/redis";

const issuesOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe("configuration", () => {
  test("defaults follow CONTRACT §1", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: "tether",
      PORT: 8000,
      OFFLINE_TIMEOUT_MS: 30_000,
      PING_INTERVAL_MS: 30_000,
      COMMAND_TTL_MS: 3_600_000,
      MAX_MESSAGE_BYTES: 65_536,
      TRUST_PROXY: false,
      ALLOWED_ORIGINS: [],
    });
    expect(c.sessionSecretGenerated).toBe(true);
    expect(c.SESSION_SECRET).toHaveLength(64);
  });

  test("a bad value names the variable", () => {
    expect(issuesOf({ PORT: "eighty" })[0]).toMatch(/^PORT:/);
    expect(issuesOf({ OFFLINE_TIMEOUT_MS: "-5" })[0]).toMatch(/^OFFLINE_TIMEOUT_MS:/);
    expect(issuesOf({ REDIS_URL: "http://x" })[0]).toMatch(/^REDIS_URL:/);
    expect(issuesOf({ ALLOWED_ORIGINS: "not a url" })[0]).toMatch(/^ALLOWED_ORIGINS/);
    expect(issuesOf({ TRUST_PROXY: "maybe" })[0]).toMatch(/^TRUST_PROXY:/);
  });

  test("production requires SESSION_SECRET; admin needs both halves", () => {
    expect(issuesOf({ NODE_ENV: "production" })).toEqual(["SESSION_SECRET: required when NODE_ENV=production"]);
    expect(issuesOf({ ADMIN_USER: "root" })[0]).toMatch(/ADMIN_PASSWORD/);
  });

  test("Redis Sentinel: addresses checked and parsed, the name defaults to mymaster", () => {
    expect(issuesOf({ REDIS_SENTINELS: "10.0.0.1" })[0]).toMatch(/^REDIS_SENTINELS:/);
    expect(issuesOf({ REDIS_SENTINELS: "a:1,,b:2" })[0]).toMatch(/^REDIS_SENTINELS:/);
    expect(issuesOf({ REDIS_SENTINEL_NAME: "has space" })[0]).toMatch(/^REDIS_SENTINEL_NAME:/);
    const c = loadConfig({ REDIS_SENTINELS: " s1.internal:26379, 10.0.0.2:26380" });
    expect(c.REDIS_SENTINEL_NAME).toBe("mymaster");
    expect(redisTarget(c).sentinel).toEqual({
      sentinels: [
        { host: "s1.internal", port: 26379 },
        { host: "10.0.0.2", port: 26380 },
      ],
      name: "mymaster",
    });
    expect(redisTarget(loadConfig({})).sentinel).toBeUndefined();
  });

  test("lists and flags are parsed", () => {
    const c = loadConfig({ ALLOWED_ORIGINS: "https://a.example, https://b.example/", TRUST_PROXY: "1", SESSION_SECRET: "x".repeat(16) });
    expect(c.ALLOWED_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
    expect(c.TRUST_PROXY).toBe(true);
    expect(c.sessionSecretGenerated).toBe(false);
  });
});

describe("crash timing (CONTRACT §3: a killed hub's hosts offline within 2 × OFFLINE_TIMEOUT_MS)", () => {
  // The worst case after a kill -9: max(OFFLINE_TIMEOUT_MS, 1.5 × HUB_TTL_MS) + SWEEP_INTERVAL_MS
  // (the sweep's offline check waits at least half a TTL, so a stalled hub can beat again).
  const worst = (c: { HUB_TTL_MS: number; SWEEP_INTERVAL_MS: number; OFFLINE_TIMEOUT_MS: number }) =>
    Math.max(c.OFFLINE_TIMEOUT_MS, 1.5 * c.HUB_TTL_MS) + c.SWEEP_INTERVAL_MS;

  test("the defaults at the default timeout are the historical 15 s and 5 s", () => {
    expect(loadConfig({})).toMatchObject({ HUB_TTL_MS: 15_000, SWEEP_INTERVAL_MS: 5_000 });
  });

  test.each([300, 500, 1500, 5000, 30_000, 600_000])("only OFFLINE_TIMEOUT_MS=%i: the derived defaults keep the bound", (offline) => {
    const c = loadConfig({ OFFLINE_TIMEOUT_MS: String(offline) });
    expect(worst(c)).toBeLessThanOrEqual(1.9 * offline);
    expect(c.HUB_TTL_MS).toBeLessThanOrEqual(15_000);
    expect(c.SWEEP_INTERVAL_MS).toBeLessThanOrEqual(5_000);
  });

  test("with 1500 the killed hub's hosts are offline within 2625 ms (was 15 s + 5 s with fixed defaults)", () => {
    const c = loadConfig({ OFFLINE_TIMEOUT_MS: "1500" });
    expect(c).toMatchObject({ HUB_TTL_MS: 1500, SWEEP_INTERVAL_MS: 375 });
    expect(worst(c)).toBe(2625);
  });

  test("explicit values win when they keep the bound", () => {
    const c = loadConfig({ OFFLINE_TIMEOUT_MS: "1500", HUB_TTL_MS: "900", SWEEP_INTERVAL_MS: "300" });
    expect(c).toMatchObject({ HUB_TTL_MS: 900, SWEEP_INTERVAL_MS: 300 });
  });

  test("a combination that cannot keep the bound is refused, naming the variables", () => {
    const [issue] = issuesOf({ OFFLINE_TIMEOUT_MS: "1500", HUB_TTL_MS: "15000" });
    expect(issue).toMatch(/^OFFLINE_TIMEOUT_MS, HUB_TTL_MS, SWEEP_INTERVAL_MS:/);
    expect(issuesOf({ OFFLINE_TIMEOUT_MS: "1000", SWEEP_INTERVAL_MS: "950" })[0]).toMatch(/SWEEP_INTERVAL_MS/);
    // Too short for any liveness key the hub can refresh in time.
    expect(issuesOf({ OFFLINE_TIMEOUT_MS: "100" })[0]).toMatch(/^OFFLINE_TIMEOUT_MS, HUB_TTL_MS/);
    expect(issuesOf({ HUB_TTL_MS: "100" })[0]).toMatch(/^HUB_TTL_MS:/);
  });
});

describe("resource bounds", () => {
  test("defaults", () => {
    expect(loadConfig({})).toMatchObject({
      MAX_OUTPUT_BYTES_PER_COMMAND: 16 * 1024 * 1024,
      OUTPUT_MAX_AGE_MS: 7 * 86_400_000,
      CANCEL_TIMEOUT_MS: 15_000,
      MAX_SOCKETS_PER_SESSION: 20,
    });
  });

  test("bad values name the variable", () => {
    expect(issuesOf({ MAX_OUTPUT_BYTES_PER_COMMAND: "10" })[0]).toMatch(/^MAX_OUTPUT_BYTES_PER_COMMAND:/);
    expect(issuesOf({ MAX_SOCKETS_PER_SESSION: "0" })[0]).toMatch(/^MAX_SOCKETS_PER_SESSION:/);
    expect(issuesOf({ OUTPUT_MAX_AGE_MS: "never" })[0]).toMatch(/^OUTPUT_MAX_AGE_MS:/);
  });
});
