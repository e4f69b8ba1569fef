import { ConfigError, loadConfig } from "../src/config";

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

  test("lists and flags are parsed", () => {
    const c = loadConfig({ ALLOWED_ORIGINS: "https://a.example, https://b.example/", TRUST_PROXY: "1", SESSION_SECRET: "x".repeat(16) });
    expect(c.ALLOWED_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
    expect(c.TRUST_PROXY).toBe(true);
    expect(c.sessionSecretGenerated).toBe(false);
  });
});
