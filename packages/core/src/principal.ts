import type { ApiTokenStore } from "./token-store";
import type { UserStore, StoredUser } from "./user-store";
import { effectiveTeams, tokenRights, type Principal } from "./policy";

/** A user as a principal, with its rights as its record says now. */
export function userPrincipal(user: Pick<StoredUser, "id" | "username" | "role" | "teams">): Principal {
  return { type: "user", id: user.id, name: user.username, role: user.role, teams: effectiveTeams(user.role, user.teams), userId: user.id };
}

/**
 * Who holds this session: read from the user's record on every use, so a deleted user's
 * sessions stop at once and a changed role or team applies to the next request.
 */
export async function principalForUser(users: UserStore, userId: string): Promise<Principal | null> {
  const record = await users.readRecord(userId);
  return record ? userPrincipal(record) : null;
}

/**
 * Who holds this API token: null when unknown, expired, or its owner is gone. Its rights are its
 * owner's as of now, capped by the token's role (an owner demoted since takes the token down too).
 */
export async function principalForApiToken(tokens: ApiTokenStore, users: UserStore, token: string, now: number): Promise<Principal | null> {
  const record = await tokens.byToken(token);
  if (!record || (record.expires_at !== null && record.expires_at <= now)) return null;
  const owner = await users.readRecord(record.owner_id);
  if (!owner) return null;
  return { type: "token", id: record.id, name: record.name, ...tokenRights(owner, record.role), userId: owner.id };
}
