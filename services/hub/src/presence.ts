import type { Redis } from "ioredis";
import type { Clock, Logger, PartitionedKeys } from "@tether/core";

/**
 * The hub's liveness key: refreshed every third of its TTL. When it expires (the hub died without
 * a word), the worker's sweep turns the hub's hosts offline.
 */
export class Liveness {
  private timer: NodeJS.Timeout | null = null;
  private beaten = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: PartitionedKeys,
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
      // Each partition's share in its own slot (the hash the sweep reads is the partition's).
      const byPartition = new Map<string, Array<[string, number]>>();
      for (const entry of held) {
        const key = this.keys.forHost(entry[0]).hubHosts(this.nodeId);
        const list = byPartition.get(key);
        if (list) list.push(entry);
        else byPartition.set(key, [entry]);
      }
      await Promise.all([...byPartition].map(([key, list]) => this.redis.hset(key, ...list.flat())));
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
