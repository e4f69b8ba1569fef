/**
 * CONTRACT §5 pinned: the exact bytes a command signature covers, the key id derivation and a
 * known signature under a fixed test key (Ed25519 is deterministic), so a change on either side
 * (services sign, agent verifies) that would split them fails here first. The pinned key id and
 * signature were computed independently with openssl (pkey -pubout DER | sha256; pkeyutl -sign -rawin).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import {
  canonicalCommandBytes,
  publicKeyPem,
  signCommandFields,
  signingKeyId,
  verifyCommandFields,
  type SignedCommandFields,
} from "../src/signing";

/** A test key, used nowhere else. */
const TEST_KEY = createPrivateKey(
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIH+vjlh5Cqy+S6G2kFutIBnxlRGrrHgrTTEa83AfSo6Z\n-----END PRIVATE KEY-----\n",
);

const FIELDS: SignedCommandFields = {
  command_id: "3f2b8c1e-0000-4000-8000-000000000001",
  host_id: "h-42",
  command: "tail",
  args: ["-n", "3", "--", "/var/log/syslog", 'quote " and ü'],
  timeout_ms: 30_000,
  issued_at: 1_780_000_000_000,
  expires_at: 1_780_003_630_000,
  requested_by_id: "u-1",
};

describe("canonical command bytes", () => {
  test("are the UTF-8 JSON array of CONTRACT §5, exactly", () => {
    expect(canonicalCommandBytes(FIELDS).toString("utf8")).toBe(
      '["tether-command-v1","3f2b8c1e-0000-4000-8000-000000000001","h-42","tail",["-n","3","--","/var/log/syslog","quote \\" and ü"],30000,1780000000000,1780003630000,"u-1"]',
    );
    expect(canonicalCommandBytes(FIELDS).toString("hex")).toContain("c3bc"); // ü as UTF-8, not \\u00fc
  });

  test("a missing timeout is null", () => {
    const { timeout_ms: _omit, ...rest } = FIELDS;
    expect(canonicalCommandBytes(rest).toString()).toBe(
      '["tether-command-v1","3f2b8c1e-0000-4000-8000-000000000001","h-42","tail",["-n","3","--","/var/log/syslog","quote \\" and ü"],null,1780000000000,1780003630000,"u-1"]',
    );
  });
});

describe("signature and key id", () => {
  test("key_id is the first 16 characters of the base64url SHA-256 of the SPKI DER", () => {
    expect(signingKeyId(createPublicKey(TEST_KEY))).toBe("AOWBEuGPkZdA1WmQ");
  });

  test("a known signature under the test key", () => {
    expect(signCommandFields(TEST_KEY, FIELDS)).toBe(
      "db4XdnKVMV-m85eLEXIHLoIHto20kcRJqpo74JNCVr4j88WY6Av_zRNFmXjzZVsgDim0aNLfT9J2ccoAGrJQBA",
    );
  });

  test("verifies with the public key, from its PEM too", () => {
    const sig = signCommandFields(TEST_KEY, FIELDS);
    expect(verifyCommandFields(createPublicKey(publicKeyPem(TEST_KEY)), FIELDS, sig)).toBe(true);
  });

  test.each<[string, Partial<SignedCommandFields>]>([
    ["command_id", { command_id: "3f2b8c1e-0000-4000-8000-000000000002" }],
    ["host_id", { host_id: "h-43" }],
    ["command", { command: "tai1" }],
    ["one argument", { args: ["-n", "3", "--", "/etc/shadow", 'quote " and ü'] }],
    ["argument split", { args: ["-n 3", "--", "/var/log/syslog", 'quote " and ü'] }],
    ["timeout", { timeout_ms: 30_001 }],
    ["issued_at", { issued_at: FIELDS.issued_at + 1 }],
    ["expires_at", { expires_at: FIELDS.expires_at + 1 }],
    ["requested_by", { requested_by_id: "u-2" }],
  ])("fails when %s changes", (_name, change) => {
    const sig = signCommandFields(TEST_KEY, FIELDS);
    expect(verifyCommandFields(createPublicKey(TEST_KEY), { ...FIELDS, ...change }, sig)).toBe(false);
  });

  test("fails under another key, and for malformed signatures (never throws)", () => {
    const sig = signCommandFields(TEST_KEY, FIELDS);
    const other = generateKeyPairSync("ed25519").publicKey;
    expect(verifyCommandFields(other, FIELDS, sig)).toBe(false);
    for (const bad of ["", "x", sig.slice(1), `${sig}=`, "A".repeat(86), "!".repeat(86)])
      expect(verifyCommandFields(createPublicKey(TEST_KEY), FIELDS, bad)).toBe(false);
  });
});
