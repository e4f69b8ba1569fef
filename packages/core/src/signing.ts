/**
 * The command signing key (CONTRACT §5) on the service side: loading it from the environment and
 * signing each command where a person's request is accepted, before it enters Redis. The bytes
 * signed and the key id come from @tether/protocol's signing module, which the agent shares.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command, RequestedBy } from "@tether/protocol";
import { parseEd25519PublicKey, publicKeyPem, signCommandFields, signingKeyId } from "@tether/protocol/src/signing";

/** A bad signing-key variable; the message starts with the variable's name. */
export class SigningKeyError extends Error {}

/** The raw variables, as the config schema parsed them. */
export interface SigningKeyVars {
  COMMAND_SIGNING_KEY?: string | undefined;
  COMMAND_SIGNING_KEY_FILE?: string | undefined;
  COMMAND_SIGNING_KEYS_PREVIOUS: string;
}

export interface SigningKeys {
  privateKey: KeyObject;
  /** No key was configured: this one was generated for this start. */
  generated: boolean;
  previous: KeyObject[];
}

const readVarFile = (variable: string, file: string): string => {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    // The error names the file and the variable, never the file's content.
    throw new SigningKeyError(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
};

/**
 * Reads COMMAND_SIGNING_KEY / COMMAND_SIGNING_KEY_FILE (an Ed25519 PKCS#8 PEM) and
 * COMMAND_SIGNING_KEYS_PREVIOUS (comma-separated SPKI PEMs or files). With no key, generates one
 * (the caller decides whether that is allowed). Throws {@link SigningKeyError} naming the variable;
 * no message ever includes key material.
 */
export function loadSigningKeys(vars: SigningKeyVars): SigningKeys {
  if (vars.COMMAND_SIGNING_KEY !== undefined && vars.COMMAND_SIGNING_KEY_FILE !== undefined) {
    throw new SigningKeyError("COMMAND_SIGNING_KEY, COMMAND_SIGNING_KEY_FILE: set one, not both");
  }
  let privateKey: KeyObject;
  let generated = false;
  const variable = vars.COMMAND_SIGNING_KEY_FILE !== undefined ? "COMMAND_SIGNING_KEY_FILE" : "COMMAND_SIGNING_KEY";
  const pem = vars.COMMAND_SIGNING_KEY_FILE !== undefined ? readVarFile(variable, vars.COMMAND_SIGNING_KEY_FILE) : vars.COMMAND_SIGNING_KEY;
  if (pem === undefined) {
    privateKey = generateKeyPairSync("ed25519").privateKey;
    generated = true;
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw new SigningKeyError(`${variable}: not a PKCS#8 PEM private key`);
    }
    if (privateKey.asymmetricKeyType !== "ed25519") throw new SigningKeyError(`${variable}: must be an Ed25519 key`);
  }
  const previous = vars.COMMAND_SIGNING_KEYS_PREVIOUS.split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item, i) => {
      const text = item.startsWith("-----BEGIN") ? item : readVarFile("COMMAND_SIGNING_KEYS_PREVIOUS", item);
      try {
        return parseEd25519PublicKey(text);
      } catch {
        throw new SigningKeyError(`COMMAND_SIGNING_KEYS_PREVIOUS: item ${i + 1} is not an Ed25519 SPKI PEM public key`);
      }
    });
  return { privateKey, generated, previous };
}

/** One entry of `GET /api/signing-keys`. */
export interface SigningKeyInfo {
  key_id: string;
  public_key: string;
}

/** Signs commands with the current key; lists it and the rotated-out ones. */
export interface CommandSigner {
  /** key_id of the current key. */
  readonly keyId: string;
  /**
   * The command with `requested_by`, `issued_at` (its `created_at`), `expires_at` (issued_at +
   * COMMAND_TTL_MS + its timeout, 0 without one) and `key_id` + `signature` over CONTRACT §5's array.
   */
  sign(command: Command, requestedBy: RequestedBy): Command;
  /** The current key first, then the previous ones. */
  publicKeys(): SigningKeyInfo[];
}

export function createCommandSigner(deps: { privateKey: KeyObject; previous: readonly KeyObject[]; commandTtlMs: number }): CommandSigner {
  const publicKey = createPublicKey(deps.privateKey);
  const keyId = signingKeyId(publicKey);
  const listed: SigningKeyInfo[] = [publicKey, ...deps.previous].map((key) => ({
    key_id: signingKeyId(key),
    public_key: publicKeyPem(key),
  }));
  const unique = listed.filter((k, i) => listed.findIndex((o) => o.key_id === k.key_id) === i);
  return {
    keyId,
    sign(command, requestedBy) {
      const issued_at = command.created_at;
      const expires_at = issued_at + deps.commandTtlMs + (command.timeout_ms ?? 0);
      const signature = signCommandFields(deps.privateKey, {
        command_id: command.id,
        host_id: command.host_id,
        command: command.command,
        args: command.args,
        timeout_ms: command.timeout_ms,
        issued_at,
        expires_at,
        requested_by_id: requestedBy.id,
      });
      return { ...command, requested_by: requestedBy, issued_at, expires_at, key_id: keyId, signature };
    },
    publicKeys: () => unique.map((k) => ({ ...k })),
  };
}
