import { Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import {
  QueueName,
  createStores,
  queuePrefix,
  type Clock,
  type Config,
  type Logger,
  type Metrics,
  type OfflineCheckJob,
} from "@tether/core";
import { runOfflineCheck, runSweep, type PresenceDeps } from "./processors/presence";
import { runCancelDeadline, runDispatch, runExpire, type CommandDeps } from "./processors/commands";
import { runSweepRuns } from "./processors/runs";
import { WorkerWatchdog } from "./watchdog";

export interface WorkerDeps {
  config: Pick<
    Config,
    | "REDIS_PREFIX"
    | "NODE_ID"
    | "JOB_LOCK_MS"
    | "OFFLINE_TIMEOUT_MS"
    | "COMMAND_TTL_MS"
    | "HUB_TTL_MS"
    | "SWEEP_INTERVAL_MS"
    | "LOG_MAX_LEN"
    | "LOG_MAX_AGE_MS"
    | "MAX_OUTPUT_BYTES_PER_COMMAND"
    | "OUTPUT_MAX_AGE_MS"
    | "SESSION_SECRET"
  >;
  /** Caller-owned connections: `command` for reads/writes, `bullmq` for queues and workers. */
  redis: { command: Redis; bullmq: Redis };
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export interface TetherWorker {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Refresh the queue-depth gauge (called on each /metrics scrape). */
  collect(): Promise<void>;
}

/** The BullMQ worker: command queue and TTLs, offline checks, and the dead-hub sweep. */
export function createWorker(deps: WorkerDeps): TetherWorker {
  const { config, redis, clock, log, metrics } = deps;
  const { keys, logs, hosts, commands, runEngine } = createStores(redis.command, config, metrics, { clock, log });
  // One prefix per queue: on a cluster each queue's keys share a slot (queuePrefix).
  const queueOpts = (queue: string) => ({ connection: redis.bullmq, prefix: queuePrefix(keys.bullPrefix, queue, redis.bullmq) });
  const presenceQueue = new Queue<OfflineCheckJob>(QueueName.PRESENCE, queueOpts(QueueName.PRESENCE));
  const commandQueue = new Queue(QueueName.COMMANDS, queueOpts(QueueName.COMMANDS));
  const runsQueue = new Queue(QueueName.RUNS, queueOpts(QueueName.RUNS));
  const presenceDeps: PresenceDeps = {
    redis: redis.command,
    keys,
    hosts,
    commands,
    logs,
    presenceQueue,
    clock,
    log,
    metrics,
    offlineTimeoutMs: config.OFFLINE_TIMEOUT_MS,
    hubTtlMs: config.HUB_TTL_MS,
    logMaxAgeMs: config.LOG_MAX_AGE_MS,
  };
  const commandDeps: CommandDeps = {
    redis: redis.command,
    keys,
    commands,
    commandQueue,
    clock,
    log,
    nodeId: config.NODE_ID,
    commandTtlMs: config.COMMAND_TTL_MS,
  };
  let watchdogs: WorkerWatchdog[] = [];
  // A job held by a worker that died is retried once its lock lapses and a stalled check runs.
  const lock = { lockDuration: config.JOB_LOCK_MS, stalledInterval: config.JOB_LOCK_MS };

  const onFailed = (job: Job | undefined, err: Error) => log.warn({ job: job?.id, name: job?.name, err: err.message }, "job failed");

  const upsertSchedulers = async () => {
    await presenceQueue.upsertJobScheduler(
      "sweep",
      { every: config.SWEEP_INTERVAL_MS },
      { name: "sweep", opts: { removeOnComplete: true, removeOnFail: 10 } },
    );
    await runsQueue.upsertJobScheduler(
      "runs-sweep",
      { every: config.SWEEP_INTERVAL_MS },
      { name: "runs-sweep", opts: { removeOnComplete: true, removeOnFail: 10 } },
    );
  };
  let reupsert: NodeJS.Timeout | undefined;

  return {
    async start() {
      for (const q of [presenceQueue, commandQueue, runsQueue]) q.on("error", (err) => log.warn({ err: err.message }, "queue error"));
      const presenceJob = async (job: Job) => (job.name === "sweep" ? runSweep(presenceDeps) : runOfflineCheck(presenceDeps, job));
      const commandJob = async (job: Job) =>
        job.name === "expire"
          ? runExpire(commandDeps, job)
          : job.name === "cancel"
            ? runCancelDeadline(commandDeps, job)
            : runDispatch(commandDeps, job);
      // Runs whose stepper died (a hub or api killed mid-step) are stepped here (DESIGN "Runs are event-sourced").
      const runsJob = async () => runSweepRuns(runEngine);
      const watched = (queue: Queue, make: () => Worker) =>
        new WorkerWatchdog(
          queue,
          () => {
            const w = make();
            w.on("error", (err) => log.warn({ queue: queue.name, err: err.message }, "worker error"));
            w.on("failed", onFailed);
            return w;
          },
          // The sweep makes work every SWEEP_INTERVAL_MS, so a worker quiet for 4 of them with work due is wedged.
          { staleMs: Math.max(2_000, 4 * config.SWEEP_INTERVAL_MS), checkMs: Math.max(500, config.SWEEP_INTERVAL_MS), log },
        );
      watchdogs = [
        watched(
          presenceQueue,
          () => new Worker(QueueName.PRESENCE, presenceJob, { ...queueOpts(QueueName.PRESENCE), concurrency: 16, ...lock }),
        ),
        watched(
          commandQueue,
          () => new Worker(QueueName.COMMANDS, commandJob, { ...queueOpts(QueueName.COMMANDS), concurrency: 32, ...lock }),
        ),
        watched(runsQueue, () => new Worker(QueueName.RUNS, runsJob, { ...queueOpts(QueueName.RUNS), concurrency: 1, ...lock })),
      ];
      // A Job Scheduler (BullMQ's successor to repeatable jobs): one sweep per interval, however
      // many workers run; upsert is idempotent.
      await upsertSchedulers();
      await Promise.all(watchdogs.map((w) => w.current.waitUntilReady()));
      for (const w of watchdogs) w.start();
      // Each iteration of a scheduler is added when the one before it starts; a write lost in a
      // failover (a replica promoted before it had the next iteration) would end the chain and
      // with it every dead-hub sweep. Upserting again adds the next iteration when none is
      // pending and keeps the pending one's slot otherwise.
      reupsert = setInterval(
        () => {
          upsertSchedulers().catch((err: Error) => log.warn({ err: err.message }, "job scheduler refresh failed"));
        },
        Math.max(1_000, 4 * config.SWEEP_INTERVAL_MS),
      );
      reupsert.unref();
      log.info("worker ready");
    },
    async close() {
      clearInterval(reupsert);
      runEngine.close();
      await Promise.all(watchdogs.map((w) => w.close()));
      await Promise.all([presenceQueue.close(), commandQueue.close(), runsQueue.close()]);
    },
    async collect() {
      const [p, c] = await Promise.all([
        presenceQueue.getJobCounts("waiting", "delayed", "active"),
        commandQueue.getJobCounts("waiting", "delayed", "active"),
      ]);
      const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
      metrics.queueDepth.set({ queue: QueueName.PRESENCE }, sum(p));
      metrics.queueDepth.set({ queue: QueueName.COMMANDS }, sum(c));
    },
  };
}
