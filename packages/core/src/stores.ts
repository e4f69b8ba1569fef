import type { Redis } from "ioredis";
import type { Config } from "./config";
import { systemClock, type Clock } from "./clock";
import { CommandStore } from "./commands";
import { EventLog } from "./event-log";
import { HostStore } from "./hosts";
import { createKeys } from "./keys";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { RunEngine } from "./run-engine";
import { RunStore } from "./run-store";
import { TeamStore } from "./team-store";
import { ApiTokenStore } from "./token-store";
import { UserStore } from "./user-store";

/** The event log and the projections' stores over one Redis connection, as every service uses them. */
export function createStores(
  redis: Redis,
  config: Pick<Config, "REDIS_PREFIX" | "LOG_MAX_LEN" | "MAX_OUTPUT_BYTES_PER_COMMAND" | "OUTPUT_MAX_AGE_MS"> &
    Partial<Pick<Config, "NODE_ID">>,
  metrics: Metrics,
  opts: { clock?: Clock; log?: Logger } = {},
) {
  const keys = createKeys(config.REDIS_PREFIX);
  const eventLog = new EventLog({
    redis,
    keys,
    maxLen: config.LOG_MAX_LEN,
    maxOutputBytes: config.MAX_OUTPUT_BYTES_PER_COMMAND,
    observe: (s) => metrics.appendSeconds.observe(s),
  });
  const commands = new CommandStore(redis, keys, eventLog, config.OUTPUT_MAX_AGE_MS);
  const runs = new RunStore(redis, keys, eventLog, commands, config.NODE_ID ?? "tether");
  // Whoever changes a command of a run acts on the run at once (DESIGN "Runs are event-sourced").
  const runEngine = new RunEngine({ store: runs, clock: opts.clock ?? systemClock, log: opts.log });
  commands.onRunChange = (runId) => void runEngine.kick(runId);
  return {
    keys,
    eventLog,
    hosts: new HostStore(redis, keys, eventLog),
    commands,
    runs,
    runEngine,
    users: new UserStore(redis, keys),
    teams: new TeamStore(redis, keys),
    apiTokens: new ApiTokenStore(redis, keys),
  };
}
export type Stores = ReturnType<typeof createStores>;
