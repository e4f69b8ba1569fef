import type { Queue } from "bullmq";
import { ErrorCode, type AgentToHub, type BrowserToHub, type Command } from "@tether/protocol";
import {
  cancelCommand,
  dispatchCommand,
  type Clock,
  type CommandSigner,
  type CommandStore,
  type DispatchDeps,
  type AuditLog,
  type DispatchJob,
  type HostChannelMessage,
  type HostStore,
  type PartitionedKeys,
  type Logger,
} from "@tether/core";
import type { Redis } from "ioredis";
import type { AgentConn } from "../connections/agent-conn";
import type { BrowserConn } from "../connections/browser-conn";
import { sendError } from "../connections/frame-guard";

/** Most output frames written in one Redis call. */
const MAX_OUTPUT_BATCH = 256;

export interface CommandRelayDeps {
  redis: Redis;
  keys: PartitionedKeys;
  hosts: HostStore;
  commands: CommandStore;
  dispatchQueue: Queue<DispatchJob>;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  nodeId: string;
  maxFrameBytes: number;
  cancelTimeoutMs: number;
  commandTtlMs: number;
  /** Signs what browsers dispatch, here where the person's request is accepted (CONTRACT §5). */
  signer: CommandSigner;
}

/**
 * Commands on a hub: browsers dispatch and cancel; the hub holding a host's agent claims each
 * queued command (queued → running, once, whichever hub or worker asks) and sends it; the agent's
 * output goes straight into the log, checked by Redis for owner and seq.
 */
export class CommandRelay {
  private readonly dispatchDeps: DispatchDeps;

  constructor(private readonly deps: CommandRelayDeps) {
    this.dispatchDeps = {
      hosts: deps.hosts,
      commands: deps.commands,
      queue: deps.dispatchQueue,
      redis: deps.redis,
      keys: deps.keys,
      nodeId: deps.nodeId,
      now: () => deps.clock.now(),
      audit: deps.audit,
      maxFrameBytes: deps.maxFrameBytes,
      cancelTimeoutMs: deps.cancelTimeoutMs,
      commandTtlMs: deps.commandTtlMs,
      signer: deps.signer,
    };
  }

  async onBrowserFrame(conn: BrowserConn, frame: BrowserToHub): Promise<void> {
    // The policy decides in dispatch/cancel: another team's host is unknown, a viewer forbidden.
    const viewer = conn.principal;
    if (frame.type === "dispatch") {
      const p = frame.payload;
      const res = await dispatchCommand(this.dispatchDeps, viewer, {
        hostId: p.host_id,
        command: p.command,
        args: p.args,
        timeoutMs: p.timeout_ms,
      });
      if (!res.ok && res.code === "forbidden") sendError(conn.ws, ErrorCode.FORBIDDEN, "your role may not dispatch commands");
      else if (!res.ok && res.code === "too_large") sendError(conn.ws, ErrorCode.INVALID_MESSAGE, res.message);
      else if (!res.ok) sendError(conn.ws, ErrorCode.UNKNOWN_HOST, `no host ${p.host_id}`);
      return;
    }
    const res = await cancelCommand(this.dispatchDeps, viewer, frame.payload.command_id);
    if (res === "forbidden") sendError(conn.ws, ErrorCode.FORBIDDEN, "your role may not cancel commands");
    else if (res === "unknown_command") sendError(conn.ws, ErrorCode.UNKNOWN_COMMAND, `no command ${frame.payload.command_id}`);
    else if (res === "already_final") sendError(conn.ws, ErrorCode.COMMAND_FINISHED, "the command already finished");
  }

  onAgentFrame(conn: AgentConn, frame: Extract<AgentToHub, { type: "output" | "command_finished" }>): void {
    if (frame.type === "output") {
      // Output frames that arrive together (one socket read holds many) are written together:
      // one Redis call and one publish for the run, flushed once this read is handled.
      if (conn.outputBatch.push(frame.payload) === 1) queueMicrotask(() => this.flushOutput(conn));
      else if (conn.outputBatch.length >= MAX_OUTPUT_BATCH) this.flushOutput(conn);
      return;
    }
    // Whatever came before this frame is written before it.
    this.flushOutput(conn);
    const p = frame.payload;
    const status = p.status ?? (p.exit_code === 0 ? "succeeded" : "failed");
    conn
      .track(
        this.deps.commands.finish(p.command_id, {
          status,
          exitCode: p.exit_code,
          now: this.deps.clock.now(),
          hostId: conn.hostId,
          reason: p.reason,
        }),
      )
      .then(
        (res) => {
          // A finish the agent resends after a reconnect is already final: nothing to say.
          if (res === "unknown_command") sendError(conn.ws, ErrorCode.UNKNOWN_COMMAND, `no command ${p.command_id} on this host`);
        },
        (err: Error) => this.unavailable(conn, err),
      );
  }

  /**
   * Write the output frames waiting on this connection. Not awaited: the next call is sent
   * behind this one on the same Redis connection, so Redis sees every frame in order; the checks
   * there decide stored / duplicate / gap / unknown, per frame.
   */
  private flushOutput(conn: AgentConn): void {
    const batch = conn.outputBatch;
    if (batch.length === 0) return;
    conn.outputBatch = [];
    conn.track(this.deps.commands.appendOutputs(conn.hostId, batch)).then(
      (results) =>
        results.forEach((res, i) => {
          const f = batch[i]!;
          if (res === "stored" || res === "duplicate" || res === "dropped") return;
          if (res === "truncated") {
            // Once per command: the frame that crossed the bound. Later ones are dropped quietly
            // (the agent stops sending once it reads this).
            sendError(
              conn.ws,
              ErrorCode.OUTPUT_TRUNCATED,
              `output of ${f.command_id} passed MAX_OUTPUT_BYTES_PER_COMMAND; the rest is not stored`,
              f.command_id,
            );
          } else if (res === "gap") sendError(conn.ws, ErrorCode.SEQ_GAP, `output seq ${f.seq} of ${f.command_id} skips ahead`);
          else if (res === "unknown_command") sendError(conn.ws, ErrorCode.UNKNOWN_COMMAND, `no command ${f.command_id} on this host`);
          else {
            sendError(conn.ws, ErrorCode.COMMAND_FINISHED, `command ${f.command_id} is not running`);
            // It ended on the server (cancelled while its agent was away, or lost) but still
            // runs there: ask the agent to stop it, once per command on this connection.
            if (conn.stopAsked(f.command_id)) conn.send({ type: "cancel", payload: { command_id: f.command_id } });
          }
        }),
      (err: Error) => this.unavailable(conn, err),
    );
  }

  /** The agent registered: send what waits for its host, in dispatch order. */
  onAgentRegistered(conn: AgentConn): void {
    void this.deliverUnfinished(conn);
  }

  /** The subscription broke: a `deliver` may have been dropped, so look again. */
  onResubscribed(conns: Iterable<AgentConn>): void {
    for (const conn of conns) if (conn.registered) void this.deliverUnfinished(conn);
  }

  onHostMessage(conn: AgentConn, msg: HostChannelMessage): void {
    if (msg.kind === "deliver") {
      if (conn.registered) void this.claimAndSend(conn, msg.command);
    } else if (msg.kind === "cancel") {
      conn.send({ type: "cancel", payload: { command_id: msg.command_id } });
    }
  }

  private async deliverUnfinished(conn: AgentConn): Promise<void> {
    try {
      for (const cmd of await this.deps.commands.unfinished(conn.hostId)) {
        if (conn.closed) return;
        // Running: it may never have reached the agent (a hub died in between); the agent
        // drops a command id it already has.
        if (cmd.status === "running") this.send(conn, cmd);
        else if (cmd.status === "queued") await this.claimAndSend(conn, cmd);
      }
    } catch (err) {
      this.unavailable(conn, err as Error);
    }
  }

  private async claimAndSend(conn: AgentConn, queued: Command): Promise<void> {
    try {
      const cmd = await this.deps.commands.claim(queued, conn.hostId, this.deps.clock.now());
      if (cmd) this.send(conn, cmd);
    } catch (err) {
      this.unavailable(conn, err as Error);
    }
  }

  /** The `command` frame: what the agent runs, with what was signed for it (CONTRACT §5). */
  private send(conn: AgentConn, cmd: Command): void {
    const { id, host_id, command, args, timeout_ms, issued_at, expires_at, requested_by, key_id, signature } = cmd;
    conn.send({
      type: "command",
      payload: { command_id: id, command, args, timeout_ms, host_id, issued_at, expires_at, requested_by, key_id, signature },
    });
  }

  private unavailable(conn: AgentConn, err: Error): void {
    const fields = { conn: conn.id, host: conn.hostId, err: err.message };
    if (conn.warns) conn.warns.warn(fields, "command write failed");
    else this.deps.log.warn(fields, "command write failed");
    sendError(conn.ws, ErrorCode.UNAVAILABLE, "could not store the frame; resend after reconnecting");
  }
}
