import type { IncomingMessage } from "node:http";
import type { Redis } from "ioredis";
import {
  hashToken,
  isOriginAllowed,
  principalForUser,
  sessionIdFromCookie,
  sessionUser,
  type HostStore,
  type GlobalKeys,
  type Principal,
  type RecordMacs,
  type UserStore,
} from "@tether/core";

export type UpgradePrincipal =
  { kind: "agent"; hostId: string; tokenHash: string } | { kind: "browser"; sid: string; principal: Principal };

export type AuthResult = { ok: true; principal: UpgradePrincipal } | { ok: false; status: 401 | 403; reason: string };

export interface AuthDeps {
  redis: Redis;
  keys: GlobalKeys;
  users: UserStore;
  /** Token hash → host, each binding MAC-checked (issue 13.3). */
  hosts: HostStore;
  /** Checks the MAC binding a session's user to its id. */
  macs: RecordMacs;
  sessionSecret: string;
  allowedOrigins: readonly string[];
  trustProxy: boolean;
}

/**
 * Decide who is upgrading, before any upgrade happens (CONTRACT §3): credentials first (none or
 * bad → 401), then, for a cookie (browser) upgrade, the Origin (missing or foreign → 403).
 * A bearer token must be an agent's: an API token never opens a socket (CONTRACT §4), it is not
 * in the agents' token index. A session's rights come from its user's record as it is now.
 * Records without a valid MAC (a token binding, a session, a user: issue 13.3) are absent here:
 * the same 401 as none, the reason only in the log and `tether_forged_records_total`.
 */
export async function authenticate(req: IncomingMessage, deps: AuthDeps): Promise<AuthResult> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer ([A-Za-z0-9_\-.~+/=]{1,512})$/.exec(auth);
    if (!m) return { ok: false, status: 401, reason: "malformed authorization" };
    const tokenHash = hashToken(m[1]!);
    const hostId = await deps.hosts.idForTokenHash(tokenHash);
    if (!hostId) return { ok: false, status: 401, reason: "unknown token" };
    return { ok: true, principal: { kind: "agent", hostId, tokenHash } };
  }
  const sid = sessionIdFromCookie(req.headers.cookie, deps.sessionSecret);
  if (!sid) return { ok: false, status: 401, reason: "no credentials" };
  const user = await sessionUser(deps.redis, deps.keys, deps.macs, sid);
  if (!user) return { ok: false, status: 401, reason: "session expired or logged out" };
  const principal = await principalForUser(deps.users, user.id);
  if (!principal) return { ok: false, status: 401, reason: "user deleted" };
  if (!isOriginAllowed(req, deps.allowedOrigins, deps.trustProxy)) {
    return { ok: false, status: 403, reason: "origin not allowed" };
  }
  return { ok: true, principal: { kind: "browser", sid, principal } };
}
