import type { Cluster, Redis } from "ioredis";
import { publish, type ControlMessage, type GlobalKeys } from "@tether/core";

/**
 * Tell every hub that a user's rights changed (its sockets close with 4403 and reconnect with
 * the new rights) or that it was deleted (4401). REST needs no message: every request reads the
 * user's record afresh.
 */
export async function announceUser(
  deps: { redis: Redis | Cluster; keys: GlobalKeys; nodeId: string },
  userId: string,
  kind: "user_changed" | "user_deleted",
) {
  const msg: ControlMessage = { kind, node: deps.nodeId, user_id: userId };
  await publish(deps.redis, deps.keys.controlChannel, JSON.stringify(msg));
}
