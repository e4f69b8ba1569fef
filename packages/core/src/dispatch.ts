import type { Queue } from "bullmq";
import type { Command } from "@tether/protocol";
import { dispatchJobId, type DispatchJob } from "./bus";
import { newCommand, type CommandStore, type FinishResult } from "./commands";
import type { HostStore } from "./hosts";
import type { Keys } from "./keys";
import type { Redis } from "ioredis";
import type { HostChannelMessage } from "./bus";
import { actorOf, type AuditLog } from "./audit-log";
import { decideCommand, decideHost, requestedBy, type Principal } from "./policy";

export interface DispatchDeps {
  hosts: HostStore;
  commands: CommandStore;
  queue: Queue<DispatchJob>;
  redis: Redis;
  keys: Keys;
  nodeId: string;
  now: () => number;
  /** Where dispatches and cancels are recorded with who asked (CONTRACT §4). */
  audit: AuditLog;
}

export type DispatchOutcome = { ok: true; command: Command } | { ok: false; code: "unknown_host" | "forbidden" };

/**
 * Dispatch a command (browser frame or REST): check the host, then hand it to the worker through
 * BullMQ with a deterministic job id. The command id goes back to the dispatcher at once.
 */
export async function dispatchCommand(
  deps: DispatchDeps,
  principal: Principal,
  input: { hostId: string; command: string; args?: string[]; timeoutMs?: number },
): Promise<DispatchOutcome> {
  const host = await deps.hosts.get(input.hostId);
  if (!host) return { ok: false, code: "unknown_host" };
  const decision = decideHost(principal, "operate", host);
  if (decision !== "allow") return { ok: false, code: decision === "hidden" ? "unknown_host" : "forbidden" };
  const command = { ...newCommand({ ...input, now: deps.now() }), requested_by: requestedBy(principal) };
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
  await deps.audit.append({
    actor: actorOf(principal),
    action: "command.dispatched",
    target: { type: "command", id: command.id },
    detail: { host_id: host.id, command: command.command, args: command.args },
  });
  return { ok: true, command };
}

/**
 * Cancel: a queued command is withdrawn at once; a running one is asked to stop on its host
 * (it ends `cancelled` when the agent reports back).
 */
export async function cancelCommand(
  deps: DispatchDeps,
  principal: Principal,
  commandId: string,
): Promise<FinishResult | "cancelling" | "forbidden"> {
  const cmd = await deps.commands.get(commandId);
  const host = cmd ? await deps.hosts.get(cmd.host_id) : null;
  const decision = cmd ? decideCommand(principal, "operate", host) : "hidden";
  if (!cmd || decision === "hidden") return "unknown_command";
  if (decision === "forbidden") return "forbidden";
  const audit = () =>
    deps.audit.append({
      actor: actorOf(principal),
      action: "command.cancelled",
      target: { type: "command", id: commandId },
      detail: { host_id: cmd.host_id },
    });
  if (cmd.status === "queued") {
    const res = await deps.commands.finish(commandId, { status: "cancelled", exitCode: null, now: deps.now(), fromStatuses: ["queued"] });
    if (res === "finished") await audit();
    if (res !== "already_final") return res;
    // It started meanwhile: fall through and stop it on the host.
  }
  const fresh = await deps.commands.get(commandId);
  if (fresh?.status !== "running") return "already_final";
  const msg: HostChannelMessage = { kind: "cancel", node: deps.nodeId, command_id: commandId };
  await deps.redis.publish(deps.keys.hostChannel(cmd.host_id), JSON.stringify(msg));
  await audit();
  return "cancelling";
}
