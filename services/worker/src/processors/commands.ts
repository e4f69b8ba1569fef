import type { Job, Queue } from "bullmq";
import {
  CancelJobSchema,
  DispatchJobSchema,
  ExpireJobSchema,
  expireJobId,
  type Clock,
  type CommandStore,
  type ExpireJob,
  type HostChannelMessage,
  type Logger,
  type PartitionedKeys,
  publish,
} from "@tether/core";
import type { Cluster, Redis } from "ioredis";

export interface CommandDeps {
  redis: Redis | Cluster;
  keys: PartitionedKeys;
  commands: CommandStore;
  commandQueue: Queue;
  clock: Clock;
  log: Logger;
  nodeId: string;
  commandTtlMs: number;
}

/**
 * A dispatched command: record it (`command_queued`, idempotent: a retried job writes nothing
 * twice), arm its TTL, and ring the host's channel so the hub holding its agent claims and sends
 * it. If no hub holds the agent, it waits queued; the hub claims it when the agent registers.
 */
export async function runDispatch(deps: CommandDeps, job: Job): Promise<string> {
  const { command } = DispatchJobSchema.parse(job.data);
  // Recorded and announced in one step; a retried job (the first try died after recording it)
  // announces it again, and the hub's claim makes sure it runs once.
  const deliver: HostChannelMessage = { kind: "deliver", node: deps.nodeId, command };
  const channel = deps.keys.forHost(command.host_id).hostChannel(command.host_id);
  const message = JSON.stringify(deliver);
  if (!(await deps.commands.queue(command, [{ cmd: "PUBLISH", key: channel, args: [message] }])))
    await publish(deps.redis, channel, message);
  // The TTL is armed before the job completes, so a crash here retries the job and arms it then.
  const expire: ExpireJob = { command_id: command.id };
  const age = deps.clock.now() - command.created_at;
  await deps.commandQueue.add("expire", expire, {
    jobId: expireJobId(command.id),
    delay: Math.max(0, deps.commandTtlMs - age),
    removeOnComplete: true,
    removeOnFail: 100,
  });
  return "queued";
}

/** The TTL ran out: a command still queued ends `expired`; any other state is left alone. */
export async function runExpire(deps: CommandDeps, job: Job): Promise<string> {
  const { command_id } = ExpireJobSchema.parse(job.data);
  const res = await deps.commands.finish(command_id, {
    status: "expired",
    exitCode: null,
    now: deps.clock.now(),
    fromStatuses: ["queued"],
    reason: "the host did not come online before the command's TTL ran out",
  });
  return res;
}

/**
 * The deadline of a cancel: a command still running CANCEL_TIMEOUT_MS after it was cancelled
 * (its agent is offline, cannot be reached, or never answered) ends `cancelled` on the server.
 * If the agent reports later, its report finds the command final and changes nothing.
 */
export async function runCancelDeadline(deps: CommandDeps, job: Job): Promise<string> {
  const { command_id } = CancelJobSchema.parse(job.data);
  return await deps.commands.finish(command_id, {
    status: "cancelled",
    exitCode: null,
    now: deps.clock.now(),
    fromStatuses: ["running"],
    reason: "cancelled; its agent did not confirm within CANCEL_TIMEOUT_MS",
  });
}
