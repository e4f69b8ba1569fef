import type { Queue, Worker } from "bullmq";
import type { Logger } from "@tether/core";

export interface WatchdogOptions {
  /** A worker that took no job (and finished none) for this long while one was due is wedged. */
  staleMs: number;
  /** How often to look. */
  checkMs: number;
  log: Logger;
  /** Called after each look (tests wait on it instead of sleeping). */
  onCheck?: (verdict: "busy" | "idle" | "stuck") => void;
}

/**
 * Keeps one BullMQ worker taking jobs. After a Redis failover BullMQ's blocking connection can be
 * left wedged: the worker stays "running", emits nothing, and takes no job again, while the queue
 * fills (seen on a Redis Cluster after its master was killed; BullMQ issues #4138, #3088, and its
 * maintainers' advice there: close the worker and make a new one). Each look asks the queue,
 * over the healthy non-blocking connection, whether a job is due: waiting, or delayed past its
 * time by more than `staleMs`. If one is, and the worker has shown no sign of work for `staleMs`,
 * it is replaced. A replaced worker is closed without waiting for it (a wedged one may never
 * finish closing); if it ever comes back it is one more worker on idempotent jobs.
 */
export class WorkerWatchdog {
  private worker: Worker;
  private lastSeen = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private closed = false;
  /** How many times the worker was replaced. */
  replaced = 0;

  constructor(
    private readonly queue: Queue,
    private readonly make: () => Worker,
    private readonly opts: WatchdogOptions,
  ) {
    this.worker = this.adopt(make());
  }

  /** The worker in service now. */
  get current(): Worker {
    return this.worker;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.looking) return;
      this.looking = true;
      this.look()
        .then((verdict) => this.opts.onCheck?.(verdict))
        .catch((err: Error) => this.opts.log.warn({ queue: this.queue.name, err: err.message }, "worker watchdog could not read the queue"))
        .finally(() => (this.looking = false));
    }, this.opts.checkMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.worker.close();
  }

  private adopt(worker: Worker): Worker {
    const seen = () => void (this.lastSeen = Date.now());
    for (const event of ["active", "completed", "failed", "drained"] as const) worker.on(event, seen);
    seen();
    return worker;
  }

  private async look(): Promise<"busy" | "idle" | "stuck"> {
    const quietMs = Date.now() - this.lastSeen;
    if (quietMs < this.opts.staleMs) return "busy";
    const due = await this.dueJobs();
    // A look still reading the queue when close() came must not start a worker nobody closes.
    if (due === 0 || this.closed) return "idle";
    this.opts.log.warn(
      { queue: this.queue.name, due, quiet_ms: quietMs },
      "BullMQ worker took no job for a while though some were due; replacing it",
    );
    const wedged = this.worker;
    this.worker = this.adopt(this.make());
    this.replaced++;
    void wedged.close(true).catch(() => undefined);
    return "stuck";
  }

  /** Jobs a live worker would have taken by now: waiting ones, and delayed ones overdue by `staleMs`. */
  private async dueJobs(): Promise<number> {
    const counts = await this.queue.getJobCounts("waiting", "prioritized");
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    if (waiting > 0) return waiting;
    const [first] = await this.queue.getJobs(["delayed"], 0, 0, true);
    return first && first.timestamp + first.delay < Date.now() - this.opts.staleMs ? 1 : 0;
  }
}
