import { Cluster, type Redis } from "ioredis";
import type { Config } from "./config";
import { systemClock, type Clock } from "./clock";
import { CommandStore } from "./commands";
import { EventLog } from "./event-log";
import { HostStore } from "./hosts";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { PartitionSet } from "./partition-set";
import { createPartitionedKeys } from "./partitions";
import { RecordMacs } from "./record-mac";
import { RunEngine } from "./run-engine";
import { RunStore } from "./run-store";
import { TeamStore } from "./team-store";
import { ApiTokenStore } from "./token-store";
import { UserStore } from "./user-store";

/**
 * The event logs (one per partition, `LOG_PARTITIONS`) and the projections' stores over one Redis
 * connection (a single Redis or a Cluster client), as every service uses them. Users, API tokens
 * and host-token bindings are MAC'd with keys from SESSION_SECRET (issue 13.3): a refused record
 * is counted in `metrics` and logged once to `log`.
 */
export function createStores(
  redis: Redis | Cluster,
  config: Pick<Config, "REDIS_PREFIX" | "LOG_MAX_LEN" | "MAX_OUTPUT_BYTES_PER_COMMAND" | "OUTPUT_MAX_AGE_MS" | "SESSION_SECRET"> &
    Partial<Pick<Config, "NODE_ID">> & { LOG_PARTITIONS?: number },
  metrics: Metrics,
  opts: { clock?: Clock; log?: Logger } = {},
) {
  const keys = createPartitionedKeys(config.REDIS_PREFIX, config.LOG_PARTITIONS ?? 1, { cluster: redis instanceof Cluster });
  const logs = keys.all.map(
    (partition) =>
      new EventLog({
        redis,
        keys: partition,
        maxLen: config.LOG_MAX_LEN,
        maxOutputBytes: config.MAX_OUTPUT_BYTES_PER_COMMAND,
        observe: (s) => metrics.appendSeconds.observe(s),
      }),
  );
  const parts = new PartitionSet(keys, logs);
  const macs = new RecordMacs(config.SESSION_SECRET, { count: (kind) => metrics.forgedRecords.labels(kind), log: opts.log });
  const commands = new CommandStore(redis, parts, config.OUTPUT_MAX_AGE_MS);
  const runs = new RunStore(redis, parts, commands, config.NODE_ID ?? "tether");
  // Whoever changes a command of a run acts on the run at once (DESIGN "Runs are event-sourced").
  const runEngine = new RunEngine({ store: runs, clock: opts.clock ?? systemClock, log: opts.log });
  commands.onRunChange = (runId) => void runEngine.kick(runId);
  return {
    keys,
    parts,
    logs,
    macs,
    hosts: new HostStore(redis, parts, macs),
    commands,
    runs,
    runEngine,
    users: new UserStore(redis, keys, macs),
    teams: new TeamStore(redis, keys),
    apiTokens: new ApiTokenStore(redis, keys, macs),
  };
}
export type Stores = ReturnType<typeof createStores>;
