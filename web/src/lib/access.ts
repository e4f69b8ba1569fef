/**
 * What the signed-in user may do, mirrored from the server's policy (CONTRACT §4) so the
 * dashboard shows only the controls a role may use. This is a convenience, not a defence: the
 * server decides every call again and refuses with 403 / `forbidden`. Every component asks
 * {@link can}; none compares roles itself.
 */

/** The roles of CONTRACT §4, least to most rights. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** The signed-in user as `GET /api/session` returns it (CONTRACT §4 `user`). */
export interface Principal {
  id: string;
  username: string;
  /** Absent from a server that predates roles (§2 only): its one account may do everything. */
  role?: Role | undefined;
  /** Team ids, or null for every team (an admin's is always null). */
  teams?: readonly string[] | null | undefined;
}

/** Something the dashboard may offer. */
export type Action =
  /** Run a command on a host (the console's command line). */
  | "dispatch"
  /** Cancel a queued or running command. */
  | "cancel"
  /** Add, rename, move, remove hosts and rotate their tokens. */
  | "manage_hosts"
  /** The Users, Teams and Audit pages. */
  | "administer"
  /** Own API tokens and password: every signed-in user. */
  | "manage_own_account";

/** The user's role; a user without one comes from a single-account server (v1) and is its admin. */
export function roleOf(user: Principal | undefined): Role | undefined {
  if (!user) return undefined;
  return user.role ?? "admin";
}

/** Rank of a role, for "at least" comparisons. */
export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Whether the user's teams include `teamId` (admins and `teams: null` include every team). */
export function inTeams(user: Principal, teamId: string | undefined): boolean {
  if (roleOf(user) === "admin" || user.teams === null || user.teams === undefined) return true;
  // A host whose team the page does not know was sent by the server, which sends only hosts
  // of the user's teams (CONTRACT §4): it is one of them.
  if (teamId === undefined) return true;
  return user.teams.includes(teamId);
}

/**
 * May `user` do `action` (to `host`, for host actions)? Undefined user: nothing.
 */
export function can(user: Principal | undefined, action: Action, host?: { team_id?: string | undefined }): boolean {
  const role = roleOf(user);
  if (!user || !role) return false;
  switch (action) {
    case "dispatch":
    case "cancel":
      return roleRank(role) >= roleRank("operator") && (!host || inTeams(user, host.team_id));
    case "manage_hosts":
    case "administer":
      return role === "admin";
    case "manage_own_account":
      return true;
  }
}

/** Roles an API token of this user may carry: at most the user's own (CONTRACT §4). */
export function grantableRoles(user: Principal | undefined): Role[] {
  const role = roleOf(user);
  return role ? ROLES.filter((r) => roleRank(r) <= roleRank(role)) : [];
}

/** "Viewer", "Operator", "Admin". */
export function roleLabel(role: Role): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}
