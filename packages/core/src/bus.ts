import { z } from "zod";
import { CommandSchema, IdSchema } from "@tether/protocol";

/**
 * Messages on a host's channel, for whichever hub holds that host's agent. Parsed where they
 * enter the hub. Every message carries the publishing node's id.
 */
export const HostChannelMessageSchema = z.discriminatedUnion("kind", [
  /** A newer agent connection (epoch) exists: older ones close with 4001. */
  z.object({ kind: z.literal("connected"), node: z.string(), epoch: z.number().int() }),
  /** The token was rotated or the host deleted: close with 4401. */
  z.object({ kind: z.literal("revoked"), node: z.string() }),
  /** A command was queued for this host: the hub holding its agent claims it and sends it. */
  z.object({ kind: z.literal("deliver"), node: z.string(), command: CommandSchema }),
  /** Ask the agent to stop a running command. */
  z.object({ kind: z.literal("cancel"), node: z.string(), command_id: IdSchema }),
]);
export type HostChannelMessage = z.infer<typeof HostChannelMessageSchema>;

/** Cluster-wide control messages. */
export const ControlMessageSchema = z.discriminatedUnion("kind", [
  /** A session was logged out: its sockets close with 4401. */
  z.object({ kind: z.literal("session_revoked"), node: z.string(), sid: z.string() }),
  /** CONTRACT §4: a user's role or teams changed: its sockets close with 4403 (reconnect, new rights). */
  z.object({ kind: z.literal("user_changed"), node: z.string(), user_id: z.string() }),
  /** CONTRACT §4: a user was deleted: its sockets close with 4401. */
  z.object({ kind: z.literal("user_deleted"), node: z.string(), user_id: z.string() }),
]);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;

/** BullMQ job data, parsed where a worker takes the job. */
export const OfflineCheckJobSchema = z.object({
  host_id: IdSchema,
  epoch: z.number().int().nonnegative(),
  /** Set when the sweep found this hub dead: the check is void if the hub turns out alive. */
  node: z.string().optional(),
});
export type OfflineCheckJob = z.infer<typeof OfflineCheckJobSchema>;

/** Deterministic BullMQ job id (no ':' allowed) so a check is scheduled once per connection. */
export const offlineJobId = (hostId: string, epoch: number) => `offline-${hostId}-${epoch}`;

/**
 * How every offline check is queued (by a hub when a socket closes or it shuts down, by the
 * worker's sweep for a dead hub): after `delay`, under its deterministic id. A check that fails
 * (its Redis failing over) is tried again with backoff, for about 6 s, and a check that failed for
 * good is not kept: a kept one would hold its id, and a later `add` of the same check (the next
 * sweep of the same hub) would be ignored, leaving the host online for ever.
 */
export const offlineJobOptions = (hostId: string, epoch: number, delay: number) => ({
  jobId: offlineJobId(hostId, epoch),
  delay,
  attempts: 6,
  backoff: { type: "exponential" as const, delay: 200 },
  removeOnComplete: true,
  removeOnFail: true,
});

/** A dispatched command, waiting for a worker to record and deliver it. */
export const DispatchJobSchema = z.object({ command: CommandSchema });
export type DispatchJob = z.infer<typeof DispatchJobSchema>;
/** A queued command whose TTL ran out. */
export const ExpireJobSchema = z.object({ command_id: IdSchema });
export type ExpireJob = z.infer<typeof ExpireJobSchema>;

export const dispatchJobId = (commandId: string) => `cmd-${commandId}`;
export const expireJobId = (commandId: string) => `expire-${commandId}`;
