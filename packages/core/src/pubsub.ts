import { Cluster, type Redis } from "ioredis";

/**
 * Ring a channel: SPUBLISH on a Redis Cluster (sharded Pub/Sub: the message crosses only the
 * shard of the channel's slot, where the hubs SSUBSCRIBE it), PUBLISH on one Redis. Resolves to
 * how many subscribers heard it (on a cluster, those of that shard: all there are).
 */
export async function publish(redis: Redis | Cluster, channel: string, message: string): Promise<number> {
  return redis instanceof Cluster ? ((await redis.spublish(channel, message)) as number) : redis.publish(channel, message);
}
