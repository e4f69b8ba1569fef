/**
 * The shapes of CONTRACT §4 the dashboard reads over REST (users, teams, API tokens, audit
 * entries). Plain types: REST answers come from our own API, read by typed calls in `api.ts`.
 */
import type { Principal, Role } from "./access";

/** A team: `{id, name}`; the team `default` always exists. */
export interface Team {
  id: string;
  name: string;
}

/** The id of the team every deployment has. */
export const DEFAULT_TEAM = "default";

/** A user as the admin's `GET /api/users` lists it. */
export type UserRecord = Required<Pick<Principal, "id" | "username">> & { role: Role; teams: string[] | null };

/** An API token's public half (the secret is shown once, at creation). */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  created_at: number;
  expires_at?: number | null;
  /** Whose token it is, when the server says (an admin lists everyone's). */
  owner?: { id: string; username: string };
}

/** Who did something: a user, an API token, or Tether itself. */
export interface AuditActor {
  type: "user" | "token" | "system";
  id: string;
  name: string;
}

/** One line of the audit log. */
export interface AuditEntry {
  id: string;
  ts: number;
  actor: AuditActor;
  action: string;
  target?: unknown;
  detail?: unknown;
}

/** Every audited action of CONTRACT §4, from the protocol (the audit page's filter lists them in this order). */
export { AUDIT_ACTIONS } from "@tether/protocol";

/** The team a host belongs to, when the server sent it (`host.team_id`, CONTRACT §4). */
export function teamOf(host: object): string | undefined {
  const team = (host as { team_id?: unknown }).team_id;
  return typeof team === "string" ? team : undefined;
}

/** A team's name for display: its name when known, else its id. */
export function teamName(teams: readonly Team[], id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  return teams.find((team) => team.id === id)?.name ?? id;
}

/** "Every team" for null, else the names of the teams, comma separated. */
export function describeTeams(teams: readonly Team[], ids: readonly string[] | null): string {
  if (ids === null) return "Every team";
  if (ids.length === 0) return "No team";
  return ids.map((id) => teamName(teams, id)).join(", ");
}
