import type { Redis } from "ioredis";
import type { Clock, Keys, Logger } from "@tether/core";

/**
 * The hub's liveness key: refreshed every third of its TTL. When it expires (the hub died without
 * a word), the worker's sweep turns the hub's hosts offline.
 */
export class Liveness {
  private timer: NodeJS.Timeout | null = null;
  private beaten = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The hosts this hub holds now, with their connection epochs. */
    private readonly held: () => Array<[string, number]>,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = this.clock.setInterval(
      () => {
        this.beat().catch((err: Error) => this.log.warn({ err: err.message }, "liveness refresh failed"));
      },
      Math.max(100, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref?.();
  }

  private async beat(): Promise<void> {
    const res = await this.redis
      .multi()
      .set(this.keys.hubAlive(this.nodeId), String(this.clock.now()), "PX", this.ttlMs, "GET")
      .sadd(this.keys.hubs, this.nodeId)
      .exec();
    const previous = res?.[0]?.[1];
    const readded = res?.[1]?.[1] === 1;
    if (this.beaten && (previous === null || readded)) {
      // Our key lapsed (Redis was out of reach longer than the TTL) or a sweep took us for dead
      // and forgot which hosts we hold: say it again.
      const held = this.held();
      if (held.length) await this.redis.hset(this.keys.hubHosts(this.nodeId), ...held.flat());
      this.log.warn({ hosts: held.length }, "liveness key had lapsed; re-announced held hosts");
    }
    this.beaten = true;
  }

  /**
   * Graceful exit, after this hub's agents were closed: drop the liveness key so the worker's
   * sweep picks up at once whatever offline check could not be scheduled, and forgets this node.
   */
  async stop(): Promise<void> {
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
    await this.redis.del(this.keys.hubAlive(this.nodeId)).catch(() => undefined);
  }
}
