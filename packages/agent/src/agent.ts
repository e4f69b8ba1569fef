import { ErrorCode } from "@tether/protocol";
import { resolveCommand } from "./allow-list";
import { systemClock, type Clock } from "./clock";
import type { AgentConfig } from "./config";
import { ExitCode, createConnection, safeUrl, type HubCommandFrame } from "./connection";
import { AGENT_VERSION, buildRegister } from "./identity";
import type { Log } from "./log";
import { collectMetrics } from "./metrics";
import { Outbox } from "./outbox";
import { frameDataBudget } from "./output-collector";
import { createRunner } from "./runner";
import { openStateFile, type FinishedPayload, type StateFile } from "./state-file";

export interface AgentDeps {
  config: AgentConfig;
  log: Log;
  clock?: Clock;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  /** Environment the children's is derived from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface Agent {
  /** Opens the state file (throws if it cannot) and starts connecting. */
  start(): void;
  /** Stops commands (their final frames are sent if connected), closes with 1000. Resolves to the exit code. */
  stop(): Promise<number>;
  /** Resolves with the exit code once the agent has stopped, by `stop()` or by a fatal close. */
  readonly exited: Promise<number>;
}

/** Don't queue more than this in the socket itself; the outbox is where backlog is bounded. */
const SOCKET_HIGH_WATER = 512 * 1024;
const FLUSH_WAIT_MS = 2_000;

/** The child's environment: the agent's own settings and anything holding the token are removed. */
export function scrubEnv(env: NodeJS.ProcessEnv, token: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith("TETHER_") || (value !== undefined && value.includes(token))) continue;
    out[key] = value;
  }
  return out;
}

/** Wires config, connection, runner, outbox and state file into one agent. */
export function createAgent(deps: AgentDeps): Agent {
  const { config, log } = deps;
  const clock = deps.clock ?? systemClock;
  const pauseAt = Math.min(1024 * 1024, config.outboxBytes / 4);
  let state: StateFile;
  let stopping = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let drainWaiters: (() => void)[] = [];
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExited = resolve));

  const outbox = new Outbox({
    limitBytes: config.outboxBytes,
    dataBudget: (commandId, stream) => frameDataBudget(commandId, stream, config.maxMessageBytes),
  });

  const pump = () => {
    while (connection.ready && connection.bufferedAmount < SOCKET_HIGH_WATER) {
      const frame = outbox.nextFrame();
      if (!frame) break;
      connection.send(frame, pump);
    }
    // Backpressure: while connected, a slow hub slows the commands' pipes; while disconnected
    // they run on and the outbox drops the oldest output (with a marker) past its bound.
    if (connection.ready && outbox.unsentBytes > pauseAt) runner.pauseOutput();
    else if (!connection.ready || outbox.unsentBytes < pauseAt / 2) runner.resumeOutput();
    if (!outbox.hasUnsent && connection.bufferedAmount === 0) drainWaiters.splice(0).forEach((resolve) => resolve());
  };

  const finishNow = (payload: FinishedPayload) => {
    state.markFinished(payload);
    outbox.pushFinal(payload);
    pump();
  };

  const runner = createRunner({
    maxConcurrent: config.maxConcurrent,
    killGraceMs: config.killGrace,
    maxMessageBytes: config.maxMessageBytes,
    env: scrubEnv(deps.env ?? process.env, config.token),
    clock,
    log,
    onStart: (commandId) => state.markRunning(commandId),
    onOutput: (commandId, stream, data) => {
      outbox.pushOutput(commandId, stream, data);
      pump();
    },
    onFinished: finishNow,
  });

  /** Answers a redelivery of a finished command with its final frame again (unless about to be sent anyway). */
  const resendFinal = (payload: FinishedPayload) => {
    if (outbox.holdsUnsentFinal(payload.command_id)) return;
    outbox.pushFinal(payload);
    pump();
  };

  const onFrame = (frame: HubCommandFrame) => {
    if (frame.type === "error") {
      log.warn("hub_error", { code: frame.payload.code, message: frame.payload.message });
      // The hub could not store a frame and asks for it again: a new connection replays
      // everything unconfirmed from the outbox, same seq.
      if (frame.payload.code === ErrorCode.UNAVAILABLE) connection.reconnect("hub asked for a resend");
      // The hub stores no more of this command's output: stop sending it (the command runs on,
      // its finish is still reported).
      if (frame.payload.code === ErrorCode.OUTPUT_TRUNCATED && frame.payload.command_id) outbox.stopOutput(frame.payload.command_id);
      return;
    }
    const id = frame.payload.command_id;
    const known = state.get(id);
    if (frame.type === "cancel") {
      if (runner.cancel(id, "cancelled")) return log.info("command_cancel", { command_id: id });
      if (known?.state === "finished") return resendFinal(known.finished);
      if (known) return;
      log.info("command_cancel", { command_id: id, unknown: true });
      return finishNow({ command_id: id, exit_code: null, status: "cancelled", reason: "cancelled before it reached this agent" });
    }
    const { command, args, timeout_ms } = frame.payload;
    if (known || runner.has(id)) {
      // Redelivered (reconnect or restart): never run twice; answer a finished one again.
      log.info("command_duplicate", { command_id: id, state: known?.state ?? "queued" });
      if (known?.state === "finished") resendFinal(known.finished);
      return;
    }
    log.info("command_received", { command_id: id, command });
    if (stopping) return finishNow({ command_id: id, exit_code: null, status: "rejected", reason: "the agent is shutting down" });
    const resolved = resolveCommand(config.commands, config.allowAny, command, args);
    if (!resolved.ok) {
      finishNow({ command_id: id, exit_code: null, status: "rejected", reason: resolved.reason });
      return log.info("command_rejected", { command_id: id, reason: resolved.reason });
    }
    runner.submit({ commandId: id, argv: resolved.argv, timeoutMs: timeout_ms ?? config.commandTimeout });
  };

  /** Bumped on every registration, so a heartbeat still sampling from a previous connection stops its chain. */
  let session = 0;
  const heartbeat = async (mine: number) => {
    heartbeatTimer = undefined;
    const metrics = await collectMetrics({ commandsRunning: runner.runningCount });
    if (mine !== session || !connection.ready || stopping) return;
    connection.send({ type: "heartbeat", payload: { metrics } });
    log.debug("heartbeat");
    heartbeatTimer = clock.setTimeout(() => void heartbeat(mine), config.heartbeatInterval);
  };

  const register = buildRegister(config.hostname, config.labels);
  const connection = createConnection({
    urls: config.urls,
    token: config.token,
    maxMessageBytes: config.maxMessageBytes,
    pingIntervalMs: config.pingInterval,
    clock,
    log,
    random: deps.random,
    register: () => register,
    onReady: () => {
      // What the lost connection may not have delivered goes out again, same seq; the hub drops what it has.
      const resend = outbox.resendCount;
      if (resend > 0) log.info("resending", { frames: resend });
      pump();
      clock.clearTimeout(heartbeatTimer);
      void heartbeat(++session);
    },
    onFrame,
    onPing: () => outbox.onPing(),
    onDown: () => {
      clock.clearTimeout(heartbeatTimer);
      heartbeatTimer = undefined;
      outbox.rewind();
      pump(); // resumes paused pipes: while disconnected, the outbox bound applies instead
    },
    onFatal: (code) => void shutdown(code, false),
  });

  /** Waits until every queued frame is written to the socket, or a short while at most. */
  const drained = async () => {
    if (!connection.ready) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drainWaiters.push(resolve);
      timer = clock.setTimeout(resolve, FLUSH_WAIT_MS);
      pump();
    });
    clock.clearTimeout(timer);
    drainWaiters = [];
  };

  const shutdown = async (code: number, flush: boolean): Promise<number> => {
    if (stopping) return exited;
    stopping = true;
    log.info("stopping", { running: runner.runningCount });
    await runner.stopAll("the agent is shutting down");
    if (flush) await drained();
    clock.clearTimeout(heartbeatTimer);
    await connection.close();
    log.info("stopped", { exit_code: code, dropped_output_bytes: outbox.droppedBytes || undefined });
    resolveExited(code);
    return code;
  };

  return {
    start() {
      state = openStateFile(config.stateFile, config.stateLimit, log);
      log.info("starting", {
        version: AGENT_VERSION,
        url: config.urls.map(safeUrl).join(","),
        hostname: config.hostname,
        state_file: config.stateFile,
        allow_any: config.allowAny,
        commands: Object.keys(config.commands).length,
      });
      for (const id of state.orphans()) {
        // It was running when a previous process died; whether it completed is unknown. Never rerun it.
        log.warn("command_orphaned", { command_id: id });
        finishNow({
          command_id: id,
          exit_code: null,
          status: "failed",
          reason: "the agent restarted while this command ran; it was not run again",
        });
      }
      connection.start();
    },
    stop: () => shutdown(ExitCode.OK, true),
    exited,
  };
}
