import type { Queue } from "bullmq";
import type { Command, RequestedBy } from "@tether/protocol";
import { dispatchJobId, type DispatchJob } from "./bus";
import { newCommand, type CommandStore, type FinishResult } from "./commands";
import type { HostStore } from "./hosts";
import type { Keys } from "./keys";
import type { Redis } from "ioredis";
import type { HostChannelMessage } from "./bus";
import type { CommandSigner } from "./signing";

/** Who is asking. Every logged-in user sees every host for now; this is the hook for more. */
export interface Viewer {
  id: string;
}

/** May `viewer` see (and so command) this host? The one place per-user permissions will go. */
export function canSeeHost(_viewer: Viewer, _hostId: string): boolean {
  return true;
}

export interface DispatchDeps {
  hosts: HostStore;
  commands: CommandStore;
  queue: Queue<DispatchJob>;
  redis: Redis;
  keys: Keys;
  nodeId: string;
  now: () => number;
  /** Signs each command before it enters Redis (CONTRACT §5). */
  signer: CommandSigner;
}

export type DispatchOutcome = { ok: true; command: Command } | { ok: false; code: "unknown_host" };

/**
 * Dispatch a command (browser frame or REST): check the host, sign it for `requestedBy` (the
 * person whose request this is), then hand it to the worker through BullMQ with a deterministic
 * job id. The command id goes back to the dispatcher at once.
 */
export async function dispatchCommand(
  deps: DispatchDeps,
  viewer: Viewer,
  input: { hostId: string; command: string; args?: string[]; timeoutMs?: number; requestedBy: RequestedBy },
): Promise<DispatchOutcome> {
  if (!canSeeHost(viewer, input.hostId) || !(await deps.hosts.get(input.hostId))) return { ok: false, code: "unknown_host" };
  // Signed here, before the job (the first write to Redis): whoever can write Redis cannot make
  // or change a command the agent will accept.
  const command = deps.signer.sign(newCommand({ ...input, now: deps.now() }), input.requestedBy);
  await deps.queue.add(
    "dispatch",
    { command },
    {
      jobId: dispatchJobId(command.id),
      removeOnComplete: true,
      removeOnFail: 1000,
      attempts: 5,
      backoff: { type: "exponential", delay: 100 },
    },
  );
  return { ok: true, command };
}

/**
 * Cancel: a queued command is withdrawn at once; a running one is asked to stop on its host
 * (it ends `cancelled` when the agent reports back).
 */
export async function cancelCommand(deps: DispatchDeps, viewer: Viewer, commandId: string): Promise<FinishResult | "cancelling"> {
  const cmd = await deps.commands.get(commandId);
  if (!cmd || !canSeeHost(viewer, cmd.host_id)) return "unknown_command";
  if (cmd.status === "queued") {
    const res = await deps.commands.finish(commandId, { status: "cancelled", exitCode: null, now: deps.now(), fromStatuses: ["queued"] });
    if (res !== "already_final") return res;
    // It started meanwhile: fall through and stop it on the host.
  }
  const fresh = await deps.commands.get(commandId);
  if (fresh?.status !== "running") return "already_final";
  const msg: HostChannelMessage = { kind: "cancel", node: deps.nodeId, command_id: commandId };
  await deps.redis.publish(deps.keys.hostChannel(cmd.host_id), JSON.stringify(msg));
  return "cancelling";
}
