import { z } from "zod";
import {
  CommandArgsSchema,
  CommandStatusSchema,
  CommandTextSchema,
  IdSchema,
  LabelsSchema,
  RequestedBySchema,
  TeamIdSchema,
  TimeoutMsSchema,
  TimestampSchema,
} from "./common";
import { HostIdSchema } from "./ids";

/** CONTRACT §6: a run is `running` until every command of it is final, then `finished` or (cancel asked) `cancelled`. */
export const RunStatusSchema = z.enum(["running", "finished", "cancelled"]);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** Run ids: `crypto.randomUUID()` (UUID v4, lowercase), checked before they reach a key name. */
export const RunIdSchema = z.uuid({ version: "v4", message: "not a run id" });

/** Hosts a run targets: every host matching ALL the given fields (at least one is required). */
export const RunTargetSchema = z
  .object({
    host_ids: z.array(HostIdSchema).min(1).max(100_000).optional(),
    team_id: TeamIdSchema.optional(),
    labels: LabelsSchema.optional(),
  })
  .strict()
  .refine((t) => t.host_ids !== undefined || t.team_id !== undefined || (t.labels !== undefined && Object.keys(t.labels).length > 0), {
    message: "name at least one of host_ids, team_id, labels",
  });
export type RunTarget = z.infer<typeof RunTargetSchema>;

/** Number of commands in each status (every status present, 0 when none). */
export const RunCountsSchema = z.record(CommandStatusSchema, z.number().int().nonnegative());
export type RunCounts = z.infer<typeof RunCountsSchema>;

export const RunSchema = z.object({
  id: IdSchema,
  command: CommandTextSchema,
  args: CommandArgsSchema,
  status: RunStatusSchema,
  counts: RunCountsSchema,
  total: z.number().int().nonnegative(),
  created_at: TimestampSchema,
  finished_at: TimestampSchema.optional(),
  requested_by: RequestedBySchema,
  /** Addition: the team of every host of the run; its events go to those who see that team. */
  team_id: TeamIdSchema,
  /** Additions: what was asked for. */
  target: RunTargetSchema.optional(),
  timeout_ms: TimeoutMsSchema.optional(),
  max_parallel: z.number().int().positive().optional(),
  stop_on_failure: z.boolean().optional(),
  /** Addition: a cancel was asked (the status turns `cancelled` once every command is final). */
  cancel_requested: z.boolean().optional(),
});
export type Run = z.infer<typeof RunSchema>;

/** `POST /api/runs` body (CONTRACT §6). */
export const CreateRunBodySchema = z
  .object({
    command: CommandTextSchema,
    args: CommandArgsSchema.optional(),
    timeout_ms: TimeoutMsSchema.optional(),
    target: RunTargetSchema,
    max_parallel: z.number().int().min(1).max(100_000).optional(),
    stop_on_failure: z.boolean().optional(),
  })
  .strict();
export type CreateRunBody = z.infer<typeof CreateRunBodySchema>;

/** `GET /api/runs` query: newest first; `before` is a run id (exclusive). */
export const RunsQuerySchema = z.object({
  before: RunIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

// Events of a run in the log (DESIGN "Runs are event-sourced"). The first `run_update` of a run
// records it (after its commands' `command_queued`, each with `run_id`); `run_released` and
// `run_cancelled` are bookkeeping for the fold and are addressed to no browser.
/** Commands of the run up to index `next` (exclusive, in creation order) were released to their hosts. */
export const RunReleasedPayloadSchema = z.object({ run_id: IdSchema, next: z.number().int().nonnegative() });
/** Someone asked to cancel the run. */
export const RunCancelledPayloadSchema = z.object({ run_id: IdSchema });
/** The run's state (CONTRACT §6 `run_update`): when it starts, coalesced to at most one per run per 100 ms, and when it ends. */
export const RunUpdatePayloadSchema = z.object({ run: RunSchema });
