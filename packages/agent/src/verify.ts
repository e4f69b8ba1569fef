/**
 * CONTRACT §5 on the agent: a `command` frame runs only if it is signed by one of the server keys
 * this agent was given, for this host, and not expired. The bytes checked are built by the same
 * function the services sign with (@tether/protocol's signing module).
 */
import type { KeyObject } from "node:crypto";
import type { CommandFrame } from "@tether/protocol";
import {
  COMMAND_CLOCK_SKEW_MS,
  RejectReason,
  parseEd25519PublicKey,
  signingKeyId,
  verifyCommandFields,
} from "@tether/protocol/src/signing";

/** A server public key the agent trusts, with the key_id it derived from it. */
export interface ServerKey {
  keyId: string;
  key: KeyObject;
}

/** Parses one SPKI PEM (a private key PEM is refused: the agent must never hold that). */
export function parseServerKey(pem: string): ServerKey {
  if (/PRIVATE KEY/.test(pem)) throw new Error("is a private key; give the server's public key (GET /api/signing-keys)");
  const key = parseEd25519PublicKey(pem);
  return { keyId: signingKeyId(key), key };
}

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

/**
 * Checks a command frame: signature (against the key its key_id names), then host, then expiry.
 * The signature is checked first, so `wrong_host` and `expired` are only ever said of genuine
 * commands, and a forged frame learns nothing but `bad_signature`.
 */
export function verifyCommand(payload: CommandFrame["payload"], ctx: { keys: readonly ServerKey[]; hostId: string; now: number }): Verdict {
  const { issued_at, expires_at, requested_by, key_id, signature } = payload;
  if (issued_at === undefined || expires_at === undefined || !requested_by || !key_id || !signature)
    return { ok: false, reason: RejectReason.BAD_SIGNATURE, detail: "the command is not signed" };
  const key = ctx.keys.find((k) => k.keyId === key_id);
  if (!key) return { ok: false, reason: RejectReason.BAD_SIGNATURE, detail: `signed with key ${key_id}, which this agent does not trust` };
  const signedFor = payload.host_id ?? ctx.hostId;
  const valid = verifyCommandFields(
    key.key,
    {
      command_id: payload.command_id,
      host_id: signedFor,
      command: payload.command,
      args: payload.args,
      timeout_ms: payload.timeout_ms,
      issued_at,
      expires_at,
      requested_by_id: requested_by.id,
    },
    signature,
  );
  if (!valid) return { ok: false, reason: RejectReason.BAD_SIGNATURE, detail: "the signature does not match the command" };
  if (signedFor !== ctx.hostId) return { ok: false, reason: RejectReason.WRONG_HOST, detail: `signed for host ${signedFor}, not this one` };
  if (ctx.now > expires_at + COMMAND_CLOCK_SKEW_MS)
    return { ok: false, reason: RejectReason.EXPIRED, detail: `expired at ${new Date(expires_at).toISOString()}` };
  return { ok: true };
}
