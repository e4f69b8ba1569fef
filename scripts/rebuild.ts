/**
 * `npm run rebuild [-- --force]`: drop the host and command projections and fold them again
 * from the event log. Run it with the hubs, API and workers stopped (events appended while it
 * folds would be missed). Refuses when the log was trimmed, unless --force: a trimmed log no
 * longer holds the oldest facts, and the hosts they created would disappear.
 */
import { parseArgs } from "node:util";
import {
  bootConfig,
  closeRedis,
  createKeys,
  createLogger,
  createRedis,
  exitOnConfigError,
  redisTarget,
  foldLog,
  logIsComplete,
  whenReady,
  writeProjection,
  isClusterUrl,
} from "@tether/core";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { force: { type: "boolean", default: false } } });
  const config = bootConfig();
  const log = createLogger({ level: config.LOG_LEVEL, nodeId: config.NODE_ID, service: "rebuild" });
  if (config.LOG_PARTITIONS > 1 || isClusterUrl(config.REDIS_URL)) {
    // Hosts and commands could be folded partition by partition, but not runs: once a run's
    // commands span partitions, their order (which decides which are still held by max_parallel)
    // is only in the home partition's command list, in no log (issue 16; see docs/design.md).
    process.stderr.write("tether rebuild: only a single Redis with LOG_PARTITIONS=1 can be rebuilt by this version\n");
    return 2;
  }
  const redis = createRedis(
    exitOnConfigError(() => redisTarget(config)),
    "command",
    log,
  );
  try {
    await whenReady(redis, 10_000);
    const keys = createKeys(config.REDIS_PREFIX);
    if (!values.force && !(await logIsComplete(redis, keys))) {
      process.stderr.write(
        "tether rebuild: the event log was trimmed, so it no longer holds every fact; re-run with --force to rebuild from what is left\n",
      );
      return 2;
    }
    const started = Date.now();
    const { state, events } = await foldLog(redis, keys);
    await writeProjection(redis, keys, state);
    log.info(
      { events, hosts: state.hosts.size, commands: state.commands.size, ms: Date.now() - started },
      "projections rebuilt from the log",
    );
    return 0;
  } finally {
    await closeRedis(redis);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`tether rebuild: ${err.message}\n`);
    process.exit(1);
  },
);
