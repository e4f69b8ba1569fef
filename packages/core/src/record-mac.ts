import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { Logger } from "./logger";
import type { FastCount } from "./metrics";

/**
 * Records Redis cannot forge (issue 13.3). Users, API tokens, sessions and host-token bindings
 * carry an HMAC-SHA256 keyed from `SESSION_SECRET` over exactly the fields that grant rights,
 * including the record's own id, so one added or changed by hand — or a genuine one copied under
 * another id or onto another host — fails verification and is treated as absent.
 *
 * Each kind has its own subkey (HKDF-SHA256, `info` = `tether/mac/<kind>/v1`), so a MAC of one
 * kind is never valid as another's. The MAC is over a canonical encoding: the JSON array of the
 * fields in a fixed order (strings, numbers, null, arrays of strings: JSON spells each one way).
 */
export type RecordKind = "user" | "api_token" | "session" | "host_token";

export const RECORD_KINDS: readonly RecordKind[] = ["user", "api_token", "session", "host_token"];

/** HKDF `info` per kind; `v1` names the field list below (a new list is a new version). */
export const MAC_INFO: Record<RecordKind, string> = {
  user: "tether/mac/user/v1",
  api_token: "tether/mac/api-token/v1",
  session: "tether/mac/session/v1",
  host_token: "tether/mac/host-token/v1",
};

/** One field of a canonical encoding. */
export type MacField = string | number | null | readonly string[];

/** The fields of a user record that grant rights or decide login, its id first. */
export function userMacFields(r: {
  id: string;
  username: string;
  role: string;
  teams: readonly string[] | null;
  hash: string;
  salt: string;
}): MacField[] {
  return [r.id, r.username, r.role, r.teams, r.hash, r.salt];
}

/** The fields of an API token record: id, what it proves (hash), whose rights, capped how, until when. */
export function apiTokenMacFields(r: {
  id: string;
  name: string;
  owner_id: string;
  role: string;
  hash: string;
  expires_at: number | null;
}): MacField[] {
  return [r.id, r.hash, r.owner_id, r.role, r.expires_at, r.name];
}

/** A session: its id (the key it lives under) and the user it logs in. */
export function sessionMacFields(sid: string, user: { id: string; username: string }): MacField[] {
  return [sid, user.id, user.username];
}

/** The binding of an agent token (its sha-256) to one host. */
export function hostTokenMacFields(tokenHash: string, hostId: string): MacField[] {
  return [tokenHash, hostId];
}

/** The bytes a MAC is computed over. */
export function canonicalBytes(fields: readonly MacField[]): Buffer {
  return Buffer.from(JSON.stringify(fields), "utf8");
}

/** Why a record was refused (logged, never shown to the client). */
export type ForgeryReason = "missing MAC" | "wrong MAC" | "bound to another id";

/** Where refusals go: a counter per kind and a logger (each record logged once). */
export interface ForgeryReport {
  count?: (kind: RecordKind) => FastCount;
  log?: Pick<Logger, "warn">;
}

/** Records logged per process before the set of those already logged is cleared (bounded memory). */
const MAX_LOGGED = 10_000;

/** The MAC keys of one deployment and the one place refusals are reported. */
export class RecordMacs {
  private readonly keys: Record<RecordKind, Buffer>;
  private readonly logged = new Set<string>();

  constructor(
    secret: string,
    private readonly report: ForgeryReport = {},
  ) {
    const derive = (kind: RecordKind) => Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), MAC_INFO[kind], 32));
    this.keys = { user: derive("user"), api_token: derive("api_token"), session: derive("session"), host_token: derive("host_token") };
  }

  /** The MAC (base64url, 43 characters) of these fields for this kind. */
  mac(kind: RecordKind, fields: readonly MacField[]): string {
    return createHmac("sha256", this.keys[kind]).update(canonicalBytes(fields)).digest("base64url");
  }

  /** Does `mac` match? Constant-time in the MAC's bytes; false for a missing or malformed one. */
  verify(kind: RecordKind, fields: readonly MacField[], mac: string | undefined | null): boolean {
    if (typeof mac !== "string" || mac.length !== 43) return false;
    const expected = createHmac("sha256", this.keys[kind]).update(canonicalBytes(fields)).digest();
    const given = Buffer.from(mac, "base64url");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * Report a refused record: counted every time (`tether_forged_records_total{kind}`), logged once
   * per record and reason. `ref` names the record (an id, or a short prefix of a hash), never a
   * secret or a token.
   */
  refused(kind: RecordKind, ref: string, reason: ForgeryReason): void {
    this.report.count?.(kind).inc();
    const key = `${kind}\u0000${ref}\u0000${reason}`;
    if (this.logged.has(key)) return;
    if (this.logged.size >= MAX_LOGGED) this.logged.clear();
    this.logged.add(key);
    this.report.log?.warn(
      { kind, ref, reason },
      `forged record refused: ${kind} ${ref} (${reason}), treated as absent; it was written or changed outside Tether`,
    );
  }
}
