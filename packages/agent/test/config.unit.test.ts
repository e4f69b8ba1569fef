import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadConfig, type AgentConfig } from "../src/config";
import { signingKeyId } from "@tether/protocol/src/signing";
import { tempDir } from "./support/harness";

describe("loadConfig", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  const run = (argv: string[], env: Record<string, string> = {}): AgentConfig => {
    const result = loadConfig({ argv, env });
    if (result.kind !== "run") throw new Error(result.kind);
    return result.config;
  };
  const error = (argv: string[], env: Record<string, string> = {}): string => {
    try {
      loadConfig({ argv, env });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("expected a ConfigError");
  };
  const file = (json: object) => {
    const p = path.join(tmp.dir, "agent.json");
    writeFileSync(p, JSON.stringify(json));
    return p;
  };

  test("defaults", () => {
    const config = run(["--url", "ws://hub/ws", "--token", "t"], { HOME: "/home/x" });
    expect(config).toMatchObject({
      allowAny: false,
      heartbeatInterval: 10_000,
      pingInterval: 30_000,
      commandTimeout: 600_000,
      killGrace: 5_000,
      maxConcurrent: 4,
      maxMessageBytes: 65_536,
      outboxBytes: 8 * 1024 * 1024,
      stateLimit: 1000,
      logLevel: "info",
      commands: {},
      labels: {},
      token: "t",
    });
    expect(config.stateFile).toMatch(/\.tether-agent\/state\.json$/);
    expect(run(["--url", "ws://hub/ws", "--token", "t"], { STATE_DIRECTORY: "/var/lib/tether-agent" }).stateFile).toBe(
      "/var/lib/tether-agent/state.json",
    );
  });

  test("precedence: flags > env > config file > defaults", () => {
    const config = file({
      url: "ws://file/ws",
      token: "from-file",
      max_concurrent: 2,
      kill_grace: 1,
      heartbeat_interval: 1000,
      labels: { a: "file" },
    });
    const env = { TETHER_URL: "ws://env/ws", TETHER_MAX_CONCURRENT: "3", TETHER_KILL_GRACE: "2", TETHER_LABELS: "a=env,b=env" };
    const c = run(["--config", config, "--max-concurrent", "5"], env);
    expect(c).toMatchObject({
      urls: ["ws://env/ws"],
      maxConcurrent: 5,
      killGrace: 2,
      heartbeatInterval: 1000,
      token: "from-file",
      labels: { a: "env", b: "env" },
    });
  });

  test("several hub URLs: --url repeated or comma-separated, TETHER_URL comma-separated, a list in the file", () => {
    expect(run(["--url", "ws://a/ws", "--url", "ws://b/ws,wss://c/ws", "--token", "t"]).urls).toEqual([
      "ws://a/ws",
      "ws://b/ws",
      "wss://c/ws",
    ]);
    expect(run(["--token", "t"], { TETHER_URL: "ws://a/ws, ws://b/ws" }).urls).toEqual(["ws://a/ws", "ws://b/ws"]);
    expect(run([], { TETHER_CONFIG: file({ url: ["ws://a/ws", "ws://b/ws"], token: "t" }) }).urls).toEqual(["ws://a/ws", "ws://b/ws"]);
    // A higher layer's list replaces a lower layer's whole list.
    expect(run(["--url", "ws://flag/ws", "--token", "t"], { TETHER_URL: "ws://a/ws,ws://b/ws" }).urls).toEqual(["ws://flag/ws"]);
    expect(error(["--url", "ws://a/ws,http://b/ws", "--token", "t"])).toBe(`invalid --url: "http://b/ws" must be a ws:// or wss:// URL`);
    expect(error(["--url", ",", "--token", "t"])).toBe("invalid --url: must be a ws:// or wss:// URL");
  });

  test("the config file can come from TETHER_CONFIG and carries the allow-list", () => {
    const c = run([], { TETHER_CONFIG: file({ url: "ws://h/ws", token: "t", allow_any: true, commands: { up: ["uptime"] } }) });
    expect(c).toMatchObject({ allowAny: true, commands: { up: [{ literal: "uptime" }] } });
  });

  test("--server-key: repeatable, a PEM or a file, also from env (comma-separated) and the file; key ids derived", () => {
    const [a, b, c] = [0, 1, 2].map(() => generateKeyPairSync("ed25519").publicKey);
    const pem = (k: typeof a) => k!.export({ type: "spki", format: "pem" }).toString();
    const bFile = path.join(tmp.dir, "b.pub");
    writeFileSync(bFile, pem(b));
    const base = ["--url", "ws://h/ws", "--token", "t"];
    const ids = (conf: AgentConfig) => conf.serverKeys.map((k) => k.keyId);
    expect(ids(run([...base, `--server-key=${pem(a)}`, "--server-key", bFile]))).toEqual([signingKeyId(a!), signingKeyId(b!)]);
    expect(ids(run(base, { TETHER_SERVER_KEY: `${bFile},${pem(c)}` }))).toEqual([signingKeyId(b!), signingKeyId(c!)]);
    expect(ids(run([], { TETHER_CONFIG: file({ url: "ws://h/ws", token: "t", server_key: [bFile] }) }))).toEqual([signingKeyId(b!)]);
    expect(run(base).serverKeys).toEqual([]);
  });

  test("--server-key mistakes are named; a private key is refused (the agent must not hold it)", () => {
    const base = ["--url", "ws://h/ws", "--token", "t"];
    expect(error([...base, "--server-key", path.join(tmp.dir, "nope.pub")])).toMatch(/^--server-key: cannot read .*nope\.pub/);
    const junk = path.join(tmp.dir, "junk.pub");
    writeFileSync(junk, "hello");
    expect(error([...base, "--server-key", junk])).toBe(`--server-key: the key in ${junk} is not an Ed25519 SPKI PEM public key`);
    const priv = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(error([...base, `--server-key=${priv}`])).toMatch(/^--server-key: the key is a private key/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(error(base, { TETHER_SERVER_KEY: rsa })).toBe("env TETHER_SERVER_KEY: the key is not an Ed25519 SPKI PEM public key");
  });

  test("the agent's own files (token, state, config) are known, to keep them out of path parameters", () => {
    const tokenFile = path.join(tmp.dir, "token");
    writeFileSync(tokenFile, "secret");
    const config = file({ url: "ws://h/ws", token_file: tokenFile, state_file: path.join(tmp.dir, "state.json") });
    expect(run(["--config", config]).ownFiles.sort()).toEqual([config, tokenFile, path.join(tmp.dir, "state.json")].sort());
  });

  test("token: a higher layer's --token-file replaces a lower layer's token; the file is trimmed", () => {
    const tokenFile = path.join(tmp.dir, "token");
    writeFileSync(tokenFile, "  secret-1\n");
    expect(run(["--url", "ws://h/ws", "--token-file", tokenFile], { TETHER_TOKEN: "env-token" }).token).toBe("secret-1");
    expect(run(["--url", "ws://h/ws", "--token", "flag"], { TETHER_TOKEN_FILE: tokenFile }).token).toBe("flag");
    writeFileSync(tokenFile, "\n");
    expect(error(["--url", "ws://h/ws", "--token-file", tokenFile])).toMatch(/^--token-file: the token in .* must be 1-4096 printable/);
  });

  test("booleans and numbers from env are parsed; bad ones are named by their variable", () => {
    expect(run(["--url", "ws://h/ws", "--token", "t"], { TETHER_ALLOW_ANY: "yes" }).allowAny).toBe(true);
    expect(run(["--url", "ws://h/ws", "--token", "t"], { TETHER_ALLOW_ANY: "0" }).allowAny).toBe(false);
    expect(error(["--url", "ws://h/ws", "--token", "t"], { TETHER_PING_INTERVAL: "30s" })).toBe(
      "invalid env TETHER_PING_INTERVAL: must be a number",
    );
    expect(error(["--url", "ws://h/ws", "--token", "t", "--kill-grace", "1.5"])).toBe("invalid --kill-grace: must be an integer");
  });

  test("config file mistakes are named by key and file", () => {
    const unknown = file({ url: "ws://h/ws", token: "t", max_concurent: 2 });
    expect(error(["--config", unknown])).toBe(`unknown key "max_concurent" in config file ${unknown}`);
    const badTemplate = file({ url: "ws://h/ws", token: "t", commands: { x: ["{a:int}"] } });
    expect(error(["--config", badTemplate])).toMatch(/^invalid "commands" in config file .* at x: the first element must be the program/);
    const badLabel = file({ url: "ws://h/ws", token: "t", labels: "x" });
    expect(error(["--config", badLabel])).toMatch(/^invalid "labels" in config file .*: must be KEY=VALUE/);
    expect(error(["--config", path.join(tmp.dir, "missing.json")])).toMatch(/^--config: cannot read/);
    writeFileSync(path.join(tmp.dir, "bad.json"), "{");
    expect(error(["--config", path.join(tmp.dir, "bad.json")])).toMatch(/^--config: .* is not valid JSON/);
  });

  test("--help and --version short-circuit everything else", () => {
    expect(loadConfig({ argv: ["--help", "--max-concurrent", "0"], env: {} })).toEqual({ kind: "help" });
    expect(loadConfig({ argv: ["--version"], env: {} })).toEqual({ kind: "version" });
  });
});
