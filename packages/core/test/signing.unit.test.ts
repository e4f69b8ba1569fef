/** The command signing key from the environment (CONTRACT §5) and the signer built on it. */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { signingKeyId, verifyCommandFields } from "@tether/protocol/src/signing";
import { ConfigError, loadConfig } from "../src/config";
import { newCommand } from "../src/commands";
import { createCommandSigner } from "../src/signing";

const pkcs8 = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }).toString();
const spki = (key: KeyObject) => (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "pem" }).toString();

const issuesOf = (env: NodeJS.ProcessEnv, signsCommands = false): string[] => {
  try {
    loadConfig(env, { signsCommands });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), "tether-signing-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("COMMAND_SIGNING_KEY", () => {
  test("required in production for a process that signs, named in the error", () => {
    expect(issuesOf({ NODE_ENV: "production", SESSION_SECRET: "s".repeat(32) }, true)).toEqual([
      "COMMAND_SIGNING_KEY: required when NODE_ENV=production (or COMMAND_SIGNING_KEY_FILE)",
    ]);
    // The worker signs nothing and needs none.
    expect(issuesOf({ NODE_ENV: "production", SESSION_SECRET: "s".repeat(32) }, false)).toEqual([]);
  });

  test("outside production a missing key is generated, and said so", () => {
    const a = loadConfig({}, { signsCommands: true });
    const b = loadConfig({}, { signsCommands: true });
    expect(a.commandSigningKeyGenerated).toBe(true);
    expect(signingKeyId(createPublicKey(a.commandSigningKey))).not.toBe(signingKeyId(createPublicKey(b.commandSigningKey)));
  });

  test("from the variable or from a file: the same key", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const file = path.join(dir, "key.pem");
    writeFileSync(file, pkcs8(privateKey), { mode: 0o600 });
    const env = { NODE_ENV: "production", SESSION_SECRET: "s".repeat(32) };
    const fromVar = loadConfig({ ...env, COMMAND_SIGNING_KEY: pkcs8(privateKey) }, { signsCommands: true });
    const fromFile = loadConfig({ ...env, COMMAND_SIGNING_KEY_FILE: file }, { signsCommands: true });
    expect(fromVar.commandSigningKeyGenerated).toBe(false);
    expect(spki(createPublicKey(fromVar.commandSigningKey))).toBe(spki(privateKey));
    expect(spki(createPublicKey(fromFile.commandSigningKey))).toBe(spki(privateKey));
  });

  test("the raw PEM does not stay in the config, and the key serialises to nothing", () => {
    const pem = pkcs8(generateKeyPairSync("ed25519").privateKey);
    const config = loadConfig({ COMMAND_SIGNING_KEY: pem });
    const body = pem.split("\n")[1]!;
    expect(JSON.stringify(config)).not.toContain(body);
    expect(Object.keys(config)).not.toContain("COMMAND_SIGNING_KEY");
  });

  test("bad values name the variable and never echo key material", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    expect(issuesOf({ COMMAND_SIGNING_KEY: "not a key" })).toEqual(["COMMAND_SIGNING_KEY: not a PKCS#8 PEM private key"]);
    expect(issuesOf({ COMMAND_SIGNING_KEY: pkcs8(rsa) })).toEqual(["COMMAND_SIGNING_KEY: must be an Ed25519 key"]);
    expect(issuesOf({ COMMAND_SIGNING_KEY_FILE: path.join(dir, "missing.pem") })).toEqual([
      `COMMAND_SIGNING_KEY_FILE: cannot read ${path.join(dir, "missing.pem")}: ENOENT`,
    ]);
    const both = { COMMAND_SIGNING_KEY: pkcs8(generateKeyPairSync("ed25519").privateKey), COMMAND_SIGNING_KEY_FILE: "/x" };
    expect(issuesOf(both)).toEqual(["COMMAND_SIGNING_KEY, COMMAND_SIGNING_KEY_FILE: set one, not both"]);
    expect(issuesOf({ COMMAND_SIGNING_KEYS_PREVIOUS: "junk" })[0]).toMatch(/^COMMAND_SIGNING_KEYS_PREVIOUS: cannot read junk/);
    expect(issuesOf({ COMMAND_SIGNING_KEYS_PREVIOUS: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" })).toEqual([
      "COMMAND_SIGNING_KEYS_PREVIOUS: item 1 is not an Ed25519 SPKI PEM public key",
    ]);
  });
});

describe("the signer", () => {
  const current = generateKeyPairSync("ed25519");
  const old1 = generateKeyPairSync("ed25519");
  const old2 = generateKeyPairSync("ed25519");

  test("lists the current key first, then the previous ones (PEMs and files), with key ids an agent can derive", () => {
    const file = path.join(dir, "old2.pub");
    writeFileSync(file, spki(old2.publicKey));
    const config = loadConfig({
      COMMAND_SIGNING_KEY: pkcs8(current.privateKey),
      COMMAND_SIGNING_KEYS_PREVIOUS: `${spki(old1.publicKey)},${file}`,
    });
    const signer = createCommandSigner({ privateKey: config.commandSigningKey, previous: config.previousSigningKeys, commandTtlMs: 1000 });
    const keys = signer.publicKeys();
    expect(keys.map((k) => k.public_key)).toEqual([spki(current.publicKey), spki(old1.publicKey), spki(old2.publicKey)]);
    for (const k of keys) expect(k.key_id).toBe(signingKeyId(createPublicKey(k.public_key)));
    expect(signer.keyId).toBe(keys[0]!.key_id);
  });

  test("signs what the agent verifies: issued_at = created_at, expires_at = + TTL + timeout, requested_by", () => {
    const signer = createCommandSigner({ privateKey: current.privateKey, previous: [], commandTtlMs: 3_600_000 });
    const cmd = newCommand({ hostId: "h1", command: "uptime", args: ["-p"], timeoutMs: 5000, now: 1_000_000 });
    const signed = signer.sign(cmd, { type: "user", id: "u1", name: "ada" });
    expect(signed).toMatchObject({ issued_at: 1_000_000, expires_at: 1_000_000 + 3_600_000 + 5000, key_id: signer.keyId });
    expect(signed.requested_by).toEqual({ type: "user", id: "u1", name: "ada" });
    const fields = {
      command_id: signed.id,
      host_id: "h1",
      command: "uptime",
      args: ["-p"],
      timeout_ms: 5000,
      issued_at: signed.issued_at!,
      expires_at: signed.expires_at!,
      requested_by_id: "u1",
    };
    expect(verifyCommandFields(current.publicKey, fields, signed.signature!)).toBe(true);
    expect(verifyCommandFields(current.publicKey, { ...fields, requested_by_id: "u2" }, signed.signature!)).toBe(false);
    const untimed = signer.sign(newCommand({ hostId: "h1", command: "uptime", now: 5 }), { type: "user", id: "u1", name: "ada" });
    expect(untimed.expires_at).toBe(5 + 3_600_000);
  });
});
