import { z } from "zod";
import {
  CommandArgsSchema,
  CommandSchema,
  CommandSignedFieldsSchema,
  CommandStatusSchema,
  CommandTextSchema,
  EventIdSchema,
  HostSchema,
  IdSchema,
  LabelsSchema,
  MetricsSchema,
  OutputDataSchema,
  OutputStreamSchema,
  SeqSchema,
  TimeoutMsSchema,
  TimestampSchema,
} from "./common";
import { CommandIdSchema, HostIdSchema } from "./ids";
import { RunCancelledPayloadSchema, RunReleasedPayloadSchema, RunUpdatePayloadSchema } from "./runs";

/** A frame whose payload is `P`: `{type, payload}`. */
function frame<T extends string, P extends z.ZodType>(type: T, payload: P) {
  return z.object({ type: z.literal(type), payload });
}

/** The envelope every inbound frame must have before its type is known. */
export const EnvelopeSchema = z.object({ type: z.string().min(1).max(64), payload: z.unknown() });

// ---------------------------------------------------------------------------------------------
// agent → hub

export const RegisterFrameSchema = frame(
  "register",
  z.object({
    hostname: z.string().min(1).max(255),
    os: z.string().max(255).optional(),
    arch: z.string().max(64).optional(),
    version: z.string().max(64).optional(),
    labels: LabelsSchema.optional(),
  }),
);
export const HeartbeatFrameSchema = frame("heartbeat", z.object({ metrics: MetricsSchema.optional() }));
export const OutputFrameSchema = frame(
  "output",
  z.object({ command_id: IdSchema, seq: SeqSchema, stream: OutputStreamSchema, data: OutputDataSchema }),
);
/** What an agent may report; `expired` and `lost` are decided by the server. */
export const AgentFinishStatusSchema = z.enum(["succeeded", "failed", "rejected", "cancelled", "timed_out"]);
export const AgentCommandFinishedFrameSchema = frame(
  "command_finished",
  z.object({
    command_id: IdSchema,
    exit_code: z.number().int().nullable(),
    status: AgentFinishStatusSchema.optional(),
    reason: z.string().max(1024).optional(),
  }),
);

export const AgentToHubSchema = z.discriminatedUnion("type", [
  RegisterFrameSchema,
  HeartbeatFrameSchema,
  OutputFrameSchema,
  AgentCommandFinishedFrameSchema,
]);
export type AgentToHub = z.infer<typeof AgentToHubSchema>;

// ---------------------------------------------------------------------------------------------
// hub → agent

export const RegisteredFrameSchema = frame("registered", z.object({ host_id: IdSchema }));
export const CommandFrameSchema = frame(
  "command",
  z.object({
    command_id: IdSchema,
    command: CommandTextSchema,
    args: CommandArgsSchema,
    timeout_ms: TimeoutMsSchema.optional(),
    // CONTRACT §5: issued_at, expires_at, requested_by, key_id, signature; and (addition) the
    // host_id it was signed for, so an agent can tell `wrong_host` from `bad_signature`.
    host_id: IdSchema.optional(),
    ...CommandSignedFieldsSchema.shape,
  }),
);
export const CancelFrameSchema = frame("cancel", z.object({ command_id: IdSchema }));
export const ErrorFrameSchema = frame(
  "error",
  z.object({
    code: z.string().min(1).max(64),
    message: z.string().max(1024),
    /** Addition: the command an error is about, when it is about one (e.g. `output_truncated`). */
    command_id: IdSchema.optional(),
  }),
);

export const HubToAgentSchema = z.discriminatedUnion("type", [
  RegisteredFrameSchema,
  CommandFrameSchema,
  CancelFrameSchema,
  ErrorFrameSchema,
]);
export type HubToAgent = z.infer<typeof HubToAgentSchema>;

// ---------------------------------------------------------------------------------------------
// browser → hub

// Browser frames name ids a client got from us: they must have the shape we issue (packages/protocol
// ids.ts) before they reach a store; anything else is an `invalid_message`.
export const DispatchFrameSchema = frame(
  "dispatch",
  z.object({
    host_id: HostIdSchema,
    command: CommandTextSchema,
    args: CommandArgsSchema.optional(),
    timeout_ms: TimeoutMsSchema.optional(),
  }),
);
/** A browser's cancel; the agent-bound `cancel` keeps the plain id (agents only echo what they got). */
export const BrowserCancelFrameSchema = frame("cancel", z.object({ command_id: CommandIdSchema }));
export const BrowserToHubSchema = z.discriminatedUnion("type", [DispatchFrameSchema, BrowserCancelFrameSchema]);
export type BrowserToHub = z.infer<typeof BrowserToHubSchema>;

// ---------------------------------------------------------------------------------------------
// hub → browser: fleet events. Each is also an event in the log, so they share one schema.

export const HostUpdatePayloadSchema = z.object({ host: HostSchema });
/** Addition to CONTRACT v1: a host was deleted. */
export const HostRemovedPayloadSchema = z.object({ host_id: IdSchema });
export const CommandQueuedPayloadSchema = z.object({ command: CommandSchema });
/** Addition to CONTRACT v1: a command was delivered to its agent and is running. */
export const CommandStartedPayloadSchema = z.object({ command: CommandSchema });
export const CommandOutputPayloadSchema = z.object({
  command_id: IdSchema,
  host_id: IdSchema,
  seq: SeqSchema,
  stream: OutputStreamSchema,
  data: OutputDataSchema,
});
export const CommandFinishedPayloadSchema = z.object({
  command_id: IdSchema,
  host_id: IdSchema,
  exit_code: z.number().int().nullable(),
  status: CommandStatusSchema,
  reason: z.string().max(1024).optional(),
  /** Addition to CONTRACT v1: when it finished (the projection's `finished_at`). */
  finished_at: TimestampSchema.optional(),
});

/** A fleet event before it has an id: what a writer appends to the log. */
export const FleetEventSchema = z.discriminatedUnion("type", [
  frame("host_update", HostUpdatePayloadSchema),
  frame("host_removed", HostRemovedPayloadSchema),
  frame("command_queued", CommandQueuedPayloadSchema),
  frame("command_started", CommandStartedPayloadSchema),
  frame("command_output", CommandOutputPayloadSchema),
  frame("command_finished", CommandFinishedPayloadSchema),
  frame("run_released", RunReleasedPayloadSchema),
  frame("run_cancelled", RunCancelledPayloadSchema),
  frame("run_update", RunUpdatePayloadSchema),
]);
export type FleetEvent = z.infer<typeof FleetEventSchema>;
export type FleetEventType = FleetEvent["type"];

/** Fields every event in the log (and every fleet frame to a browser) carries. */
export const EventMetaSchema = z.object({ id: EventIdSchema, ts: TimestampSchema });
/** An event as read back from the log: `{id, ts, type, payload}` (CONTRACT §2 `event`). */
export type LoggedEvent = FleetEvent & z.infer<typeof EventMetaSchema>;
export const LoggedEventSchema = z.intersection(EventMetaSchema, FleetEventSchema);

export const HostsFrameSchema = z.object({
  type: z.literal("hosts"),
  id: EventIdSchema,
  ts: TimestampSchema,
  payload: z.object({ hosts: z.array(HostSchema), resync: z.boolean().optional() }),
});
export type HostsFrame = z.infer<typeof HostsFrameSchema>;

export const HubToBrowserSchema = z.union([HostsFrameSchema, LoggedEventSchema, ErrorFrameSchema]);
export type HubToBrowser = z.infer<typeof HubToBrowserSchema>;

export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
export type CommandFrame = z.infer<typeof CommandFrameSchema>;
export type OutputFrame = z.infer<typeof OutputFrameSchema>;
export type DispatchFrame = z.infer<typeof DispatchFrameSchema>;
export type RegisterFrame = z.infer<typeof RegisterFrameSchema>;
export type TimestampMs = z.infer<typeof TimestampSchema>;
