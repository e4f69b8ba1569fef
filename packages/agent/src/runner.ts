import { spawn, type ChildProcess } from "node:child_process";
import type { OutputStream } from "@tether/protocol";
import type { Clock } from "./clock";
import type { Log } from "./log";
import { createOutputCollector, type OutputCollector } from "./output-collector";
import type { FinishedPayload } from "./state-file";

/** A command the agent decided to run. */
export interface Job {
  commandId: string;
  argv: string[];
  timeoutMs: number;
  /** The signed command's `expires_at`, when it was signed: its id is remembered until then. */
  expiresAt?: number;
}

export interface RunnerOptions {
  maxConcurrent: number;
  /** Wait between SIGTERM and SIGKILL to the process group, ms. */
  killGraceMs: number;
  maxMessageBytes: number;
  /** Environment of every child: already scrubbed of the agent's secrets. */
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Log;
  /** Called synchronously right before the spawn, so the state file has the id first. */
  onStart: (commandId: string, expiresAt?: number) => void;
  /** Text pieces in order; each fits one frame. */
  onOutput: (commandId: string, stream: OutputStream, data: string) => void;
  /** Called once per command, after its last onOutput. */
  onFinished: (payload: FinishedPayload) => void;
}

/** Runs jobs without a shell, each in its own process group, at most N at once. */
export interface Runner {
  submit(job: Job): void;
  /** Stops a running or queued command (reported `cancelled`). False if unknown here. */
  cancel(commandId: string, reason?: string): boolean;
  has(commandId: string): boolean;
  readonly runningCount: number;
  /** Backpressure: stop reading the children's pipes (they block when the pipe fills). */
  pauseOutput(): void;
  resumeOutput(): void;
  /** Cancels everything; resolves once every command has reported its final frame. */
  stopAll(reason: string): Promise<void>;
}

type Running = {
  job: Job;
  child: ChildProcess;
  collector: OutputCollector;
  startedAt: number;
  outcome?: { status: "cancelled" | "timed_out"; reason: string };
  timeout?: NodeJS.Timeout;
  linger?: NodeJS.Timeout;
  done: boolean;
};

/** After the main process exits, how long a grandchild may keep the pipes open before we stop reading. */
const LINGER_MS = 2000;

/** Signals a whole process group; a group that is already gone is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Creates the runner. See {@link Runner}. */
export function createRunner(options: RunnerOptions): Runner {
  const { clock, log } = options;
  const queue: Job[] = [];
  const running = new Map<string, Running>();
  /** SIGKILL escalations still pending, by pid: they outlive their command to catch stragglers. */
  const killTimers = new Map<number, NodeJS.Timeout>();
  const idleWaiters: (() => void)[] = [];
  let paused = false;

  const stopGroup = (run: Running) => {
    const pid = run.child.pid;
    if (pid === undefined || killTimers.has(pid)) return;
    if (options.killGraceMs === 0) return killGroup(pid, "SIGKILL");
    killGroup(pid, "SIGTERM");
    killTimers.set(
      pid,
      clock.setTimeout(() => {
        killTimers.delete(pid);
        killGroup(pid, "SIGKILL");
      }, options.killGraceMs),
    );
  };

  const finish = (run: Running, code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
    if (run.done) return;
    run.done = true;
    clock.clearTimeout(run.timeout);
    clock.clearTimeout(run.linger);
    run.collector.end(); // last output pieces go out before the final frame
    const id = run.job.commandId;
    let payload: FinishedPayload;
    if (spawnError) {
      const reason = `cannot start ${run.job.argv[0]}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}`;
      payload = { command_id: id, exit_code: null, status: "failed", reason };
    } else if (run.outcome) {
      payload = { command_id: id, exit_code: code, status: run.outcome.status, reason: run.outcome.reason };
    } else if (code === 0) {
      payload = { command_id: id, exit_code: 0, status: "succeeded" };
    } else {
      payload = { command_id: id, exit_code: code, status: "failed", ...(signal ? { reason: `killed by ${signal}` } : {}) };
    }
    running.delete(id);
    // The result is recorded (state file) and queued before the line says so: a reader of the
    // log (an operator, a test) may act on it at once, even kill -9 us.
    options.onFinished(payload);
    log.info("command_finished", {
      command_id: id,
      status: payload.status,
      exit_code: payload.exit_code,
      duration_ms: clock.now() - run.startedAt,
    });
    startNext();
    if (running.size === 0 && queue.length === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  };

  const start = (job: Job) => {
    options.onStart(job.commandId, job.expiresAt);
    const collector = createOutputCollector({
      commandId: job.commandId,
      maxMessageBytes: options.maxMessageBytes,
      clock,
      emit: (stream, data) => options.onOutput(job.commandId, stream, data),
    });
    // detached: the child leads a new process group, so a stop reaches its grandchildren too.
    let child: ChildProcess;
    try {
      child = spawn(job.argv[0]!, job.argv.slice(1), { detached: true, stdio: ["ignore", "pipe", "pipe"], env: options.env });
    } catch (err) {
      // Synchronous refusals, e.g. a NUL byte in an argument.
      const reason = `cannot start ${job.argv[0]}: ${(err as Error).message}`.slice(0, 1024);
      options.onFinished({ command_id: job.commandId, exit_code: null, status: "failed", reason });
      log.info("command_finished", { command_id: job.commandId, status: "failed", exit_code: null });
      return;
    }
    const run: Running = { job, child, collector, startedAt: clock.now(), done: false };
    running.set(job.commandId, run);
    child.stdout!.on("data", (chunk: Buffer) => collector.write("stdout", chunk));
    child.stderr!.on("data", (chunk: Buffer) => collector.write("stderr", chunk));
    if (paused) [child.stdout!, child.stderr!].forEach((s) => s.pause());
    child.on("error", (err) => {
      if (child.pid === undefined) finish(run, null, null, err);
      else log.warn("command_error", { command_id: job.commandId, error: err.message });
    });
    child.on("exit", () => {
      // A backgrounded grandchild may hold the pipes open forever: stop waiting after a while
      // (but not while we are the ones not reading, under backpressure).
      const linger = () => {
        if (paused) run.linger = clock.setTimeout(linger, LINGER_MS);
        else [child.stdout!, child.stderr!].forEach((s) => s.destroy());
      };
      run.linger = clock.setTimeout(linger, LINGER_MS);
    });
    child.on("close", (code, signal) => finish(run, code, signal));
    if (child.pid === undefined) return; // spawn failed; "error" follows
    log.info("command_started", { command_id: job.commandId, program: job.argv[0], args: job.argv.length - 1, pid: child.pid });
    run.timeout = clock.setTimeout(() => {
      run.outcome ??= { status: "timed_out", reason: `timed out after ${job.timeoutMs} ms` };
      stopGroup(run);
    }, job.timeoutMs);
  };

  const startNext = () => {
    while (running.size < options.maxConcurrent && queue.length > 0) start(queue.shift()!);
  };

  const setPaused = (value: boolean) => {
    if (paused === value) return;
    paused = value;
    for (const run of running.values()) [run.child.stdout!, run.child.stderr!].forEach((s) => (value ? s.pause() : s.resume()));
  };

  const cancel = (commandId: string, reason = "cancelled") => {
    const queuedAt = queue.findIndex((j) => j.commandId === commandId);
    if (queuedAt !== -1) {
      queue.splice(queuedAt, 1);
      options.onFinished({ command_id: commandId, exit_code: null, status: "cancelled", reason });
      log.info("command_finished", { command_id: commandId, status: "cancelled", exit_code: null, queued: true });
      return true;
    }
    const run = running.get(commandId);
    if (!run) return false;
    run.outcome ??= { status: "cancelled", reason };
    stopGroup(run);
    return true;
  };

  return {
    submit(job) {
      queue.push(job);
      if (running.size >= options.maxConcurrent) log.info("command_queued", { command_id: job.commandId, ahead: queue.length - 1 });
      startNext();
    },
    cancel,
    has: (commandId) => running.has(commandId) || queue.some((j) => j.commandId === commandId),
    get runningCount() {
      return running.size;
    },
    pauseOutput: () => setPaused(true),
    resumeOutput: () => setPaused(false),
    async stopAll(reason) {
      for (const job of [...queue]) cancel(job.commandId, reason);
      setPaused(false); // a paused pipe would keep a stopped child from ever closing
      for (const run of running.values()) cancel(run.job.commandId, reason);
      if (running.size > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      // We are leaving: escalate now rather than leave timers (and maybe stragglers) behind.
      for (const [pid, timer] of killTimers) {
        clock.clearTimeout(timer);
        killGroup(pid, "SIGKILL");
      }
      killTimers.clear();
    },
  };
}
