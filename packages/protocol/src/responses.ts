import { z } from "zod";
import { ChunkSchema, CommandSchema, HostSchema, IdSchema, SigningKeyIdSchema } from "./common";
import { LoggedEventSchema } from "./frames";
import { ApiTokenSchema, AuditEntrySchema, TeamSchema, UserSchema } from "./rest";
import { RunIdSchema, RunSchema } from "./runs";

/**
 * What the REST API answers (CONTRACT §2, §4, §5), one schema per response body. The api's
 * OpenAPI document (`GET /api/openapi.json`) is generated from these and from the request
 * schemas in rest.ts; clients may parse with them too.
 */

// ---------------------------------------------------------------------------------------------
// errors: one body for every 4xx and 5xx (services/api/src/errors.ts)

/** Every error but one: `{error: {code, message}}`; `code` is stable, `message` is for people. */
export const ErrorBodySchema = z.object({
  error: z.object({
    /** Stable, snake_case: `invalid_request`, `unauthenticated`, `unknown_host`, … Tests and clients match on it. */
    code: z.string(),
    /** What went wrong, naming the field for a 400; wording may change. */
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
/** CONTRACT §4 spells the role refusal out exactly: `403 {"error":"forbidden"}`. */
export const ForbiddenBodySchema = z.object({ error: z.literal("forbidden") });
export type ForbiddenBody = z.infer<typeof ForbiddenBodySchema>;

// ---------------------------------------------------------------------------------------------
// §2 session, hosts, commands, events

/** `POST /api/session` and `GET /api/session`; with an API token, `via_token` names it (addition). */
export const SessionResponseSchema = z.object({
  user: UserSchema,
  via_token: z.object({ id: IdSchema, name: z.string() }).optional(),
});
export const HostCreatedResponseSchema = z.object({
  host: HostSchema,
  /** The agent's token: shown only here, stored only as a hash. */
  token: z.string(),
});
export const HostListResponseSchema = z.object({ hosts: z.array(HostSchema) });
export const HostResponseSchema = z.object({ host: HostSchema });
/** Addition: one host with its command history, newest first. */
export const HostDetailResponseSchema = z.object({ host: HostSchema, commands: z.array(CommandSchema) });
export const HostTokenResponseSchema = z.object({ token: z.string() });
export const CommandResponseSchema = z.object({ command: CommandSchema });
export const CommandListResponseSchema = z.object({ commands: z.array(CommandSchema) });
/** `GET /api/commands/:id`: the command and all its output so far, in order. */
export const CommandDetailResponseSchema = z.object({ command: CommandSchema, output: z.array(ChunkSchema) });
/** `GET /api/events`; `resync: true` (addition) when `after` was no longer in the log. */
export const EventsResponseSchema = z.object({ events: z.array(LoggedEventSchema), resync: z.literal(true).optional() });

// ---------------------------------------------------------------------------------------------
// §4 users, teams, API tokens, audit; §5 signing keys

export const UserListResponseSchema = z.object({ users: z.array(UserSchema) });
export const UserResponseSchema = z.object({ user: UserSchema });
export const TeamListResponseSchema = z.object({ teams: z.array(TeamSchema) });
export const TeamResponseSchema = z.object({ team: TeamSchema });
export const ApiTokenCreatedResponseSchema = z.object({
  /** The `tta_…` secret: shown only here, stored only as a hash. */
  token: z.string(),
  api_token: ApiTokenSchema,
});
export const ApiTokenListResponseSchema = z.object({ api_tokens: z.array(ApiTokenSchema) });
export const AuditResponseSchema = z.object({ entries: z.array(AuditEntrySchema) });
/** A command signing key (CONTRACT §5): `public_key` is SPKI PEM. */
export const SigningKeySchema = z.object({ key_id: SigningKeyIdSchema, public_key: z.string() });
export const SigningKeysResponseSchema = z.object({ keys: z.array(SigningKeySchema) });

// ---------------------------------------------------------------------------------------------
// §6 runs

/** `POST /api/runs` (202) and `POST /api/runs/:id/cancel` (202). */
export const RunResponseSchema = z.object({ run: RunSchema });
/** `GET /api/runs`: newest first. */
export const RunListResponseSchema = z.object({ runs: z.array(RunSchema) });
/** `GET /api/runs/:id`: the run and every command of it. */
export const RunDetailResponseSchema = z.object({ run: RunSchema, commands: z.array(CommandSchema) });

// ---------------------------------------------------------------------------------------------
// path parameters of the routes that check a bare id (`IdSchema`: users, API tokens)

/** `/api/users/:id`, `/api/tokens/:id`. */
export const IdParamsSchema = z.object({ id: IdSchema });
/** `/api/runs/:id…` (the route's `router.param` checks `RunIdSchema`). */
export const RunParamsSchema = z.object({ id: RunIdSchema });
