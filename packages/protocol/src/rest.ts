import { z } from "zod";
import { CommandArgsSchema, CommandTextSchema, TimeoutMsSchema } from "./common";
import { CommandIdSchema, EventIdParamSchema, HostIdSchema } from "./ids";

/** `POST /api/session` body. */
export const LoginBodySchema = z.object({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

/** `POST /api/hosts` body. */
export const CreateHostBodySchema = z.object({ name: z.string().trim().min(1).max(200) });

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

/** A user as the API returns it (never the password hash). */
export const UserSchema = z.object({ id: z.string(), username: z.string() });
export type User = z.infer<typeof UserSchema>;

/** `/api/hosts/:id…` path parameters. */
export const HostParamsSchema = z.object({ id: HostIdSchema });

/** `/api/commands/:id…` path parameters. */
export const CommandParamsSchema = z.object({ id: CommandIdSchema });
