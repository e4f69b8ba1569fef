import type { Queue } from "bullmq";
import { z } from "zod";
import { IdSchema, type Command } from "@tether/protocol";
import { expireJobId, type DispatchJob, type ExpireJob } from "./bus";
import { newCommand, type CommandStore, type FinishResult } from "./commands";
import type { HostStore } from "./hosts";
import type { PartitionedKeys } from "./partitions";
import { publish } from "./pubsub";
import type { Cluster, Redis } from "ioredis";
import type { HostChannelMessage } from "./bus";
import { actorOf, type AuditLog } from "./audit-log";
import { decideCommand, decideHost, requestedBy, type Principal } from "./policy";
import type { CommandSigner } from "./signing";

export interface DispatchDeps {
  hosts: HostStore;
  commands: CommandStore;
  /** The commands queue: dispatch jobs, and the deadline of a cancel. */
  queue: Queue<DispatchJob | CancelJob | ExpireJob>;
  redis: Redis | Cluster;
  keys: PartitionedKeys;
  nodeId: string;
  now: () => number;
  /** What an agent accepts (MAX_MESSAGE_BYTES): a command whose frame would not fit is refused. */
  maxFrameBytes: number;
  /** CANCEL_TIMEOUT_MS: a cancelled running command ends `cancelled` this long after, whatever its agent says. */
  cancelTimeoutMs: number;
  /** COMMAND_TTL_MS: a command still queued this long after it was made ends `expired` (a worker job). */
  commandTtlMs: number;
  /** Signs each command before it enters Redis (CONTRACT §5). */
  signer: CommandSigner;
  /** Where dispatches and cancels are recorded with who asked (CONTRACT §4). */
  audit: AuditLog;
}

/**
 * Bytes kept free in a `command` frame for what is added to it on its way (the signature fields
 * `issued_at`, `expires_at`, `requested_by`, `key_id`, `signature` take about 400).
 */
export const COMMAND_FRAME_HEADROOM = 512;

export type DispatchOutcome =
  | { ok: true; command: Command }
  | { ok: false; code: "unknown_host" | "forbidden" }
  | { ok: false; code: "too_large"; field: "command" | "args"; message: string };

/** The deadline of a cancel (see {@link cancelCommand}), run by the worker. */
export const CancelJobSchema = z.object({ command_id: IdSchema });
export type CancelJob = z.infer<typeof CancelJobSchema>;
export const cancelJobId = (commandId: string) => `cancel-${commandId}`;

/**
 * Would the `command` frame for this dispatch be more than an agent accepts? A frame over the
 * agent's `maxPayload` makes it close the socket (1009) and reconnect to get the same frame again,
 * for ever: the host looks online and runs nothing. So it is refused at the door, naming the
 * field that made it big.
 */
export function commandFrameTooLarge(
  input: { command: string; args?: string[]; timeoutMs?: number },
  maxFrameBytes: number,
): { field: "command" | "args"; message: string } | null {
  const args = input.args ?? [];
  const frame = {
    type: "command",
    payload: { command_id: "00000000-0000-0000-0000-000000000000", command: input.command, args, timeout_ms: input.timeoutMs ?? 0 },
  };
  const bytes = Buffer.byteLength(JSON.stringify(frame)) + COMMAND_FRAME_HEADROOM;
  if (bytes <= maxFrameBytes) return null;
  const field = Buffer.byteLength(input.command) >= Buffer.byteLength(JSON.stringify(args)) ? "command" : "args";
  return {
    field,
    message: `${field}: too large: the command frame to the agent would be ${bytes} bytes (with ${COMMAND_FRAME_HEADROOM} kept for signing), more than the ${maxFrameBytes} an agent accepts (MAX_MESSAGE_BYTES)`,
  };
}

/**
 * Dispatch a command (browser frame or REST) in one hop: check the host, sign it for
 * `requestedBy` (the person whose request this is), arm its TTL (a delayed worker job), then
 * record, log and announce it in one atomic step — the hub holding the host's agent hears the
 * host's channel and claims it; with no hub holding it, it waits queued and is claimed when the
 * agent registers. The worker is not on the way: it only fires the TTL.
 */
export async function dispatchCommand(
  deps: DispatchDeps,
  principal: Principal,
  input: { hostId: string; command: string; args?: string[]; timeoutMs?: number },
): Promise<DispatchOutcome> {
  const tooLarge = commandFrameTooLarge(input, deps.maxFrameBytes);
  if (tooLarge) return { ok: false, code: "too_large", ...tooLarge };
  const host = await deps.hosts.get(input.hostId);
  if (!host) return { ok: false, code: "unknown_host" };
  const decision = decideHost(principal, "operate", host);
  if (decision !== "allow") return { ok: false, code: decision === "hidden" ? "unknown_host" : "forbidden" };
  // Signed here, before the job (the first write to Redis): whoever can write Redis cannot make
  // or change a command the agent will accept. `requested_by` is the principal the policy allowed.
  const command = deps.signer.sign(newCommand({ ...input, now: deps.now(), partitions: deps.keys.partitions }), requestedBy(principal));
  // The TTL before the record: a crash between the two leaves a deadline for a command that never
  // was (it finds nothing to expire), never a queued command without one.
  const expire: ExpireJob = { command_id: command.id };
  await deps.queue.add("expire", expire, {
    jobId: expireJobId(command.id),
    delay: deps.commandTtlMs,
    removeOnComplete: true,
    removeOnFail: 100,
  });
  const deliver: HostChannelMessage = { kind: "deliver", node: deps.nodeId, command };
  await deps.commands.queue(command, [
    { cmd: "PUBLISH", key: deps.keys.forHost(command.host_id).hostChannel(command.host_id), args: [JSON.stringify(deliver)] },
  ]);
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
 * (it ends `cancelled` when the agent reports back). When no hub holds its agent (nobody listens
 * on the host's channel) it ends `cancelled` at once; and whatever happens to the agent, a
 * deadline job ends it `cancelled` after CANCEL_TIMEOUT_MS if it is still running then, so a
 * cancel always ends the command on the server.
 */
export async function cancelCommand(
  deps: DispatchDeps,
  principal: Principal,
  commandId: string,
  /** `audit: false`: a part of something audited once as a whole (a run's cancel, CONTRACT §6). */
  opts: { audit?: boolean } = {},
): Promise<FinishResult | "cancelling" | "forbidden"> {
  const cmd = await deps.commands.get(commandId);
  const host = cmd ? await deps.hosts.get(cmd.host_id) : null;
  const decision = cmd ? decideCommand(principal, "operate", host) : "hidden";
  if (!cmd || decision === "hidden") return "unknown_command";
  if (decision === "forbidden") return "forbidden";
  const audit = async () => {
    if (opts.audit === false) return;
    await deps.audit.append({
      actor: actorOf(principal),
      action: "command.cancelled",
      target: { type: "command", id: commandId },
      detail: { host_id: cmd.host_id },
    });
  };
  if (cmd.status === "queued") {
    const res = await deps.commands.finish(commandId, { status: "cancelled", exitCode: null, now: deps.now(), fromStatuses: ["queued"] });
    if (res === "finished") await audit();
    if (res !== "already_final") return res;
    // It started meanwhile: fall through and stop it on the host.
  }
  const fresh = await deps.commands.get(commandId);
  if (fresh?.status !== "running") return "already_final";
  const msg: HostChannelMessage = { kind: "cancel", node: deps.nodeId, command_id: commandId };
  const listeners = await publish(deps.redis, deps.keys.forHost(cmd.host_id).hostChannel(cmd.host_id), JSON.stringify(msg));
  if (listeners === 0) {
    const res = await deps.commands.finish(commandId, {
      status: "cancelled",
      exitCode: null,
      now: deps.now(),
      fromStatuses: ["running"],
      reason: "cancelled while no hub held its agent; whatever still runs there is stopped when it reconnects",
    });
    if (res === "finished") {
      await audit();
      return res;
    }
  }
  const deadline: CancelJob = { command_id: commandId };
  await deps.queue.add("cancel", deadline, {
    jobId: cancelJobId(commandId),
    delay: deps.cancelTimeoutMs,
    removeOnComplete: true,
    removeOnFail: 100,
  });
  await audit();
  return "cancelling";
}
