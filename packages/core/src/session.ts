import { parse as parseCookie } from "cookie";
import { unsign } from "cookie-signature";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keys } from "./keys";

/** Name of the session cookie (CONTRACT §2). */
export const SESSION_COOKIE = "tether.sid";

/** What the API stores in a session; the hub reads the same record. */
export const SessionDataSchema = z.object({ user: z.object({ id: z.string(), username: z.string() }) });

/** The session id inside a signed `tether.sid` cookie, or null if absent or forged. */
export function sessionIdFromCookie(cookieHeader: string | undefined, secret: string): string | null {
  if (!cookieHeader) return null;
  const raw = parseCookie(cookieHeader)[SESSION_COOKIE];
  if (!raw || !raw.startsWith("s:")) return null;
  const sid = unsign(raw.slice(2), secret);
  return sid === false ? null : sid;
}

/** The user of a live session, or null (expired, logged out, or never existed). */
export async function sessionUser(redis: Redis, keys: Keys, sid: string): Promise<{ id: string; username: string } | null> {
  const json = await redis.get(keys.session(sid));
  if (!json) return null;
  try {
    const parsed = SessionDataSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data.user : null;
  } catch {
    return null;
  }
}
