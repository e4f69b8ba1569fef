/**
 * Signed commands (CONTRACT §5): the exact bytes a command's Ed25519 signature covers, the key id
 * and the sign/verify calls. Shared by the services (sign) and the agent (verify), so both build
 * the same bytes from the same code. node:crypto only: the agent bundles this file.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

/** First element of the signed array: names the scheme, so a signature never fits another use. */
export const COMMAND_SIGNATURE_CONTEXT = "tether-command-v1";

/** Clock skew the agent allows on `expires_at` (CONTRACT §5: 5 min). */
export const COMMAND_CLOCK_SKEW_MS = 5 * 60_000;

/** Why an agent refused a command (CONTRACT §5 `reason`). */
export const RejectReason = {
  BAD_SIGNATURE: "bad_signature",
  WRONG_HOST: "wrong_host",
  EXPIRED: "expired",
  REPLAYED: "replayed",
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** What the signature covers: the command as the agent will run it, for whom, when, by whom. */
export interface SignedCommandFields {
  command_id: string;
  host_id: string;
  command: string;
  args: readonly string[];
  timeout_ms?: number | undefined;
  issued_at: number;
  expires_at: number;
  requested_by_id: string;
}

/**
 * The UTF-8 bytes of the JSON array `["tether-command-v1", command_id, host_id, command, args,
 * timeout_ms ?? null, issued_at, expires_at, requested_by.id]`. An array (not an object) so no
 * key order can differ between signer and verifier; JSON.stringify of strings, numbers and
 * arrays is fully determined.
 */
export function canonicalCommandBytes(f: SignedCommandFields): Buffer {
  const array = [
    COMMAND_SIGNATURE_CONTEXT,
    f.command_id,
    f.host_id,
    f.command,
    [...f.args],
    f.timeout_ms ?? null,
    f.issued_at,
    f.expires_at,
    f.requested_by_id,
  ];
  return Buffer.from(JSON.stringify(array), "utf8");
}

/** `key_id`: the first 16 characters of the base64url SHA-256 of the public key's SPKI DER bytes. */
export function signingKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url").slice(0, 16);
}

/** The public half as SPKI PEM (what `GET /api/signing-keys` lists and `--server-key` takes). */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pub.export({ type: "spki", format: "pem" }).toString();
}

/** Parses an SPKI PEM Ed25519 public key; throws with a readable message otherwise. */
export function parseEd25519PublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? "unknown"})`);
  return key;
}

/** base64url Ed25519 signature over {@link canonicalCommandBytes}. */
export function signCommandFields(privateKey: KeyObject, f: SignedCommandFields): string {
  return sign(null, canonicalCommandBytes(f), privateKey).toString("base64url");
}

/** True when `signature` is a valid Ed25519 signature of these fields by `publicKey`. Never throws. */
export function verifyCommandFields(publicKey: KeyObject, f: SignedCommandFields, signature: string): boolean {
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature)) return false; // 64 bytes, unpadded base64url
  try {
    return verify(null, canonicalCommandBytes(f), publicKey, Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}
