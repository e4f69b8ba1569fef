import { parse as parseCookie } from "cookie";
import { unsign } from "cookie-signature";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import type { GlobalKeys } from "./partitions";
import { sessionMacFields, type RecordMacs } from "./record-mac";

/** Name of the session cookie (CONTRACT §2). */
export const SESSION_COOKIE = "tether.sid";

/**
 * What the API stores in a session; the hub reads the same record. `mac` binds the user to this
 * session id (issue 13.3): connect-redis keeps the JSON in Redis, where anyone who can write could
 * otherwise log any session in as anyone.
 */
export const SessionDataSchema = z.object({ user: z.object({ id: z.string(), username: z.string() }), mac: z.string().optional() });

/** The user a session logs in, and the MAC binding it to the session id, to store in the session. */
export function sealSession(macs: RecordMacs, sid: string, user: { id: string; username: string }) {
  return { user: { id: user.id, username: user.username }, mac: macs.mac("session", sessionMacFields(sid, user)) };
}

/**
 * The user of session `sid`'s data if its MAC holds for this id; else null (no user, or one
 * forged or copied from another session: reported as forged, treated as logged out). A session
 * from before MACs has none and is simply logged out.
 */
export function verifiedSessionUser(macs: RecordMacs, sid: string, data: unknown): { id: string; username: string } | null {
  const parsed = SessionDataSchema.safeParse(data);
  if (!parsed.success) return null;
  const { user, mac } = parsed.data;
  if (!macs.verify("session", sessionMacFields(sid, user), mac)) {
    macs.refused("session", `user ${user.id}`, mac === undefined ? "missing MAC" : "wrong MAC");
    return null;
  }
  return user;
}

/** The session id inside a signed `tether.sid` cookie, or null if absent or forged. */
export function sessionIdFromCookie(cookieHeader: string | undefined, secret: string): string | null {
  if (!cookieHeader) return null;
  const raw = parseCookie(cookieHeader)[SESSION_COOKIE];
  if (!raw || !raw.startsWith("s:")) return null;
  const sid = unsign(raw.slice(2), secret);
  return sid === false ? null : sid;
}

/** The user of a live session, or null (expired, logged out, or never existed). */
export async function sessionUser(
  redis: Redis | Cluster,
  keys: GlobalKeys,
  macs: RecordMacs,
  sid: string,
): Promise<{ id: string; username: string } | null> {
  const json = await redis.get(keys.session(sid));
  if (!json) return null;
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return null;
  }
  return verifiedSessionUser(macs, sid, data);
}
