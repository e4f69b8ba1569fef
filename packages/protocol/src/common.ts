import { z } from "zod";

/** Wire protocol version; bump on a breaking change of any frame. */
export const PROTOCOL_VERSION = 1;

/** Opaque id of a host, command or user (server-generated). */
export const IdSchema = z.string().min(1).max(128);

/**
 * Event id: opaque to clients, but it sorts (as a plain string) in event order within one log
 * epoch. Also the `after` value for resume.
 */
export const EventIdSchema = z.string().min(1).max(128);

/** Milliseconds since the Unix epoch. */
export const TimestampSchema = z.number().int().nonnegative();

/** Free-form host labels, e.g. `{ "env": "prod", "role": "db" }`. */
export const LabelsSchema = z
  .record(z.string().min(1).max(64), z.string().max(256))
  .refine((labels) => Object.keys(labels).length <= 32, { message: "at most 32 labels" });

/** Host metrics reported in heartbeats: numbers, short strings or short number lists. */
export const MetricsSchema = z
  .record(z.string().min(1).max(64), z.union([z.number(), z.string().max(256), z.array(z.number()).max(16), z.null()]))
  .refine((metrics) => Object.keys(metrics).length <= 64, { message: "at most 64 metrics" });

export const HostStatusSchema = z.enum(["online", "offline"]);

/** Team id (CONTRACT §4): lower-case letters, digits and dashes; `default` always exists. */
export const TeamIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, "a team id: lower-case letters, digits and dashes, at most 48");
/** The team every host and user belongs to unless told otherwise (CONTRACT §4). */
export const DEFAULT_TEAM = "default";

export const HostSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).max(200),
  status: HostStatusSchema,
  /** CONTRACT §4: the host's team (hosts from before teams are in `default`). */
  team_id: TeamIdSchema.optional(),
  hostname: z.string().max(255).optional(),
  os: z.string().max(255).optional(),
  arch: z.string().max(64).optional(),
  version: z.string().max(64).optional(),
  labels: LabelsSchema.optional(),
  last_seen: TimestampSchema.optional(),
  metrics: MetricsSchema.optional(),
});
export type Host = z.infer<typeof HostSchema>;

export const CommandStatusSchema = z.enum([
  "queued",
  "running",
  "succeeded",
  "failed",
  "rejected",
  "cancelled",
  "timed_out",
  "expired",
  "lost",
]);
export type CommandStatus = z.infer<typeof CommandStatusSchema>;

/** Statuses after which a command never changes again. */
export const FINAL_COMMAND_STATUSES: ReadonlySet<CommandStatus> = new Set([
  "succeeded",
  "failed",
  "rejected",
  "cancelled",
  "timed_out",
  "expired",
  "lost",
]);

/** Largest command name / argument, in characters. */
export const MAX_COMMAND_CHARS = 4096;
/** Most arguments one command may carry. */
export const MAX_COMMAND_ARGS = 256;

export const CommandTextSchema = z.string().min(1, "command must not be empty").max(MAX_COMMAND_CHARS);
export const CommandArgsSchema = z.array(z.string().max(MAX_COMMAND_CHARS)).max(MAX_COMMAND_ARGS);
/** Per-command timeout, milliseconds (1 s to 24 h). */
export const TimeoutMsSchema = z.number().int().min(1000).max(86_400_000);

/** Who asked for a command (CONTRACT §4): a logged-in user or an API token. */
export const RequestedBySchema = z.object({
  type: z.enum(["user", "token"]),
  id: IdSchema,
  name: z.string().min(1).max(200),
});
export type RequestedBy = z.infer<typeof RequestedBySchema>;

/** `key_id` of a command signing key (CONTRACT §5: 16 base64url characters). */
export const SigningKeyIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16}$/);
/** base64url Ed25519 signature (64 bytes, unpadded). */
export const CommandSignatureSchema = z.string().regex(/^[A-Za-z0-9_-]{86}$/);

/**
 * What the accepting service signed (CONTRACT §5), carried by the command record from dispatch
 * to the agent's `command` frame. Optional in the schemas so records and frames from before
 * signing still parse; an agent holding a server key refuses a command without them.
 */
export const CommandSignedFieldsSchema = z.object({
  requested_by: RequestedBySchema.optional(),
  issued_at: TimestampSchema.optional(),
  expires_at: TimestampSchema.optional(),
  key_id: SigningKeyIdSchema.optional(),
  signature: CommandSignatureSchema.optional(),
});

export const CommandSchema = z.object({
  id: IdSchema,
  host_id: IdSchema,
  command: CommandTextSchema,
  args: CommandArgsSchema,
  status: CommandStatusSchema,
  created_at: TimestampSchema,
  started_at: TimestampSchema.optional(),
  finished_at: TimestampSchema.optional(),
  exit_code: z.number().int().nullable(),
  timeout_ms: TimeoutMsSchema.optional(),
  reason: z.string().max(1024).optional(),
  ...CommandSignedFieldsSchema.shape,
  /** CONTRACT §4/§6: the run this command belongs to. */
  run_id: IdSchema.optional(),
});
export type Command = z.infer<typeof CommandSchema>;

export const OutputStreamSchema = z.enum(["stdout", "stderr"]);
export type OutputStream = z.infer<typeof OutputStreamSchema>;

/** Output text of one chunk; the frame size limit bounds it first. */
export const OutputDataSchema = z.string().max(4 * 1024 * 1024);
export const SeqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const ChunkSchema = z.object({ seq: SeqSchema, stream: OutputStreamSchema, data: OutputDataSchema });
export type Chunk = z.infer<typeof ChunkSchema>;
