import { DEFAULT_TEAM, ROLES, type RequestedBy, type Role } from "@tether/protocol";

/**
 * Access decisions, all of them (CONTRACT §4, DESIGN "Access is one decision"). Pure: REST
 * handlers, the hub's frame handlers, snapshots, replay, live fan-out and `/api/events` ask here,
 * and nothing else compares roles or teams.
 */

/** Who is asking: a user (session) or an API token acting for its owner. */
export interface Principal {
  type: "user" | "token";
  /** User id, or token id for a token. */
  id: string;
  /** Username, or the token's name. */
  name: string;
  /** Effective role (a token's: at most its owner's, as of now). */
  role: Role;
  /** Team ids it may see, or null for every team. */
  teams: readonly string[] | null;
  /** The user behind it (the user itself, or the token's owner). */
  userId: string;
}

/** What a principal may see: every team (null), or a set of teams. */
export type Audience = ReadonlySet<string> | null;

/** Result of a decision: allowed, not allowed by the role (403), or invisible (404 / unknown_host). */
export type Decision = "allow" | "forbidden" | "hidden";

/** Things done to one host (or to its commands). */
export type HostAction = "view" | "operate" | "manage";

/** Things not about one host. */
export type GlobalAction =
  "users.manage" | "teams.list" | "teams.create" | "hosts.create" | "audit.read" | "events.read" | "tokens.own" | "session.own";

const rank = (role: Role): number => ROLES.indexOf(role);

/** True when `a` grants at least what `b` does. */
export function roleAtLeast(a: Role, b: Role): boolean {
  return rank(a) >= rank(b);
}

/** The weaker of two roles (an API token never exceeds its owner). */
export function weakerRole(a: Role, b: Role): Role {
  return rank(a) <= rank(b) ? a : b;
}

/** The team of a host; hosts from before teams belong to `default`. */
export function hostTeam(host: { team_id?: string | undefined }): string {
  return host.team_id ?? DEFAULT_TEAM;
}

/** The teams a user may see: an admin every team, whatever its record says. */
export function effectiveTeams(role: Role, teams: readonly string[] | null): readonly string[] | null {
  return role === "admin" ? null : teams;
}

export function audienceOf(p: Pick<Principal, "teams">): Audience {
  return p.teams === null ? null : new Set(p.teams);
}

/** A stable name for an audience, so sockets that may see the same can share one group. */
export function audienceKey(audience: Audience): string {
  return audience === null ? "*" : [...audience].sort().join(",");
}

export function canSeeTeam(p: Pick<Principal, "teams">, team: string): boolean {
  return p.teams === null || p.teams.includes(team);
}

/**
 * May an audience see an event addressed to `team`, except to audiences that also see `except`?
 * (A host that moves from team A to B: its `host_removed` goes to those who see A but not B.)
 */
export function audienceSees(audience: Audience, team: string, except: string): boolean {
  if (audience === null) return except === "";
  return audience.has(team) && (except === "" || !audience.has(except));
}

/** Decide an action on one host (or on a command of that host). */
export function decideHost(p: Principal, action: HostAction, host: { team_id?: string | undefined }): Decision {
  if (!canSeeTeam(p, hostTeam(host))) return "hidden";
  const needed: Role = action === "view" ? "viewer" : action === "operate" ? "operator" : "admin";
  return roleAtLeast(p.role, needed) ? "allow" : "forbidden";
}

/**
 * Decide an action on a command, given its host (null: the host was deleted since). A command
 * of a deleted host is seen only by those who see every team: no team can be checked for it.
 */
export function decideCommand(p: Principal, action: "view" | "operate", host: { team_id?: string | undefined } | null): Decision {
  if (host) return decideHost(p, action, host);
  if (p.teams !== null) return "hidden";
  return roleAtLeast(p.role, action === "view" ? "viewer" : "operator") ? "allow" : "forbidden";
}

/** Decide an action that is not about one host. */
export function decide(p: Principal, action: GlobalAction): Decision {
  switch (action) {
    case "teams.list":
    case "events.read":
      return "allow";
    // A person's own things: an API token may not mint tokens or change its owner's password,
    // so a leaked token cannot make itself permanent.
    case "tokens.own":
    case "session.own":
      return p.type === "user" ? "allow" : "forbidden";
    case "users.manage":
    case "teams.create":
    case "hosts.create":
    case "audit.read":
      return p.role === "admin" ? "allow" : "forbidden";
  }
}

/** May `p` create an API token with `role`? At most its own role, and only a user for itself. */
export function decideTokenCreate(p: Principal, role: Role): Decision {
  if (decide(p, "tokens.own") !== "allow") return "forbidden";
  return roleAtLeast(p.role, role) ? "allow" : "forbidden";
}

/** May `p` see or revoke the API token owned by `ownerId`? Its owner or an admin; others never learn of it. */
export function decideToken(p: Principal, ownerId: string): Decision {
  if (p.role === "admin" && p.type === "user") return "allow";
  if (p.type === "user" && p.userId === ownerId) return "allow";
  return "hidden";
}

/** Whose API tokens `p` lists: everyone's (null) for an admin, else its own. */
export function tokenListScope(p: Principal): string | null {
  return p.role === "admin" && p.type === "user" ? null : p.userId;
}

/** The rights an API token has now: its own role capped by its owner's, its owner's teams. */
export function tokenRights(owner: { role: Role; teams: readonly string[] | null }, tokenRole: Role): Pick<Principal, "role" | "teams"> {
  const role = weakerRole(owner.role, tokenRole);
  // An admin owner's token with a lesser role acts on every team, as its owner would.
  return { role, teams: effectiveTeams(owner.role, owner.teams) };
}

/** `requested_by` of a command (CONTRACT §4). */
export function requestedBy(p: Principal): RequestedBy {
  return { type: p.type, id: p.id, name: p.name };
}
