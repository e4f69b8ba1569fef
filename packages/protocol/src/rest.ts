import { z } from "zod";
import { CommandArgsSchema, CommandTextSchema, IdSchema, TeamIdSchema, TimeoutMsSchema, TimestampSchema } from "./common";
import { CommandIdSchema, EventIdParamSchema, HostIdSchema } from "./ids";

/** `POST /api/session` body. */
export const LoginBodySchema = z.object({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

/** `POST /api/hosts` body (CONTRACT §2, `team_id` §4: default `default`). */
export const CreateHostBodySchema = z.object({ name: z.string().trim().min(1).max(200), team_id: TeamIdSchema.optional() });

/** `PATCH /api/hosts/:id` body (CONTRACT §4). */
export const PatchHostBodySchema = z
  .object({ name: z.string().trim().min(1).max(200).optional(), team_id: TeamIdSchema.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.team_id !== undefined, { message: "give name or team_id" });

/** `POST /api/hosts/:id/commands` body. */
export const DispatchBodySchema = z.object({
  command: CommandTextSchema,
  args: CommandArgsSchema.optional(),
  timeout_ms: TimeoutMsSchema.optional(),
});

/** `GET /api/events` query. */
export const EventsQuerySchema = z.object({
  /** An id this log issued (or `0`); anything else is a 400, never a key lookup. */
  after: EventIdParamSchema.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

// ---------------------------------------------------------------------------------------------
// CONTRACT §4: users, roles, teams, API tokens, the audit log

/** Roles, weakest first. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** A user's teams: a list of team ids, or null for every team (an admin's is always null). */
export const TeamsSchema = z.array(TeamIdSchema).max(256).nullable();

/** Usernames: what people type; no spaces or control characters, so logs and the audit stay readable. */
export const UsernameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, "1 to 64 letters, digits, _ . @ -, starting with a letter or digit");
/** New passwords: 8+ characters (as ADMIN_PASSWORD). */
export const PasswordSchema = z.string().min(8, "at least 8 characters").max(1024);

/** A user as the API returns it (never the password hash). */
export const UserSchema = z.object({ id: z.string(), username: z.string(), role: RoleSchema, teams: TeamsSchema });
export type User = z.infer<typeof UserSchema>;

/** `POST /api/users` body. */
export const CreateUserBodySchema = z
  .object({ username: UsernameSchema, password: PasswordSchema, role: RoleSchema, teams: TeamsSchema.optional() })
  .strict();
/** `PATCH /api/users/:id` body. */
export const PatchUserBodySchema = z
  .object({ role: RoleSchema.optional(), teams: TeamsSchema.optional(), password: PasswordSchema.optional() })
  .strict();
/** `POST /api/session/password` body. */
export const ChangePasswordBodySchema = z.object({ current: z.string().min(1).max(1024), password: PasswordSchema }).strict();

export const TeamSchema = z.object({ id: TeamIdSchema, name: z.string() });
export type Team = z.infer<typeof TeamSchema>;
/** `POST /api/teams` body: the id is derived from the name (lower-cased, spaces → dashes). */
export const CreateTeamBodySchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 _-]{0,47}$/, "1 to 48 letters, digits, spaces, _ -"),
  })
  .strict();

/** `POST /api/tokens` body. */
export const CreateApiTokenBodySchema = z
  .object({ name: z.string().trim().min(1).max(128), role: RoleSchema.optional(), expires_at: TimestampSchema.nullable().optional() })
  .strict();
export const ApiTokenSchema = z.object({
  id: IdSchema,
  name: z.string(),
  role: RoleSchema,
  created_at: TimestampSchema,
  expires_at: TimestampSchema.nullable(),
  /** Addition: whose token it is (admins list every token). */
  owner: z.object({ id: z.string(), username: z.string() }),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;

/** Audit actors: a user, an API token (acting for its owner), or Tether itself. */
export const AuditActorSchema = z.object({ type: z.enum(["user", "token", "system"]), id: z.string(), name: z.string() });
export type AuditActor = z.infer<typeof AuditActorSchema>;
export const AUDIT_ACTIONS = [
  "session.login",
  "session.login_failed",
  "session.logout",
  "session.password_changed",
  "user.created",
  "user.updated",
  "user.deleted",
  "team.created",
  "host.created",
  "host.updated",
  "host.deleted",
  "host.token_rotated",
  "token.created",
  "token.revoked",
  "command.dispatched",
  "command.cancelled",
  "run.created",
  "run.cancelled",
] as const;
export const AuditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditActionSchema>;
export const AuditEntrySchema = z.object({
  id: z.string(),
  ts: TimestampSchema,
  actor: AuditActorSchema,
  action: AuditActionSchema,
  target: z.object({ type: z.string(), id: z.string(), name: z.string().optional() }).optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
/** Audit entry ids: the audit stream's own ids. */
export const AuditIdSchema = z.string().regex(/^\d{1,20}-\d{1,20}$/, "an audit entry id");
/** `GET /api/audit` query. */
export const AuditQuerySchema = z.object({
  after: AuditIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
/** `/api/hosts/:id…` path parameters. */
export const HostParamsSchema = z.object({ id: HostIdSchema });

/** `/api/commands/:id…` path parameters. */
export const CommandParamsSchema = z.object({ id: CommandIdSchema });
