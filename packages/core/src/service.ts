import express, { type Express } from "express";
import type { Server } from "node:http";
import type { Redis } from "ioredis";
import { systemClock, type Clock } from "./clock";
import { ConfigError, type Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { createMetrics, type Metrics } from "./metrics";
import { opsRoutes, publicOpsRoutes, type OpsRoutesOptions } from "./ops-routes";
import { bootConfig, closeServer, exitOnConfigError, listen, onShutdown } from "./process";
import { createPartitionedKeys } from "./partitions";
import { checkPartitionCount, closeRedis, createRedisClient, isCluster, redisTarget, whenReady, type RedisRole } from "./redis";

/** What an entrypoint's `wire` gets: everything read from the environment and opened for it. */
export interface ServiceContext<R extends RedisRole> {
  config: Config;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** One connection per role, owned by the runner (closed after `stop`). */
  redis: Record<R, Redis>;
  /** The HTTP app on PORT, with /healthz, /readyz and the token-guarded /metrics already mounted. */
  app: Express;
}

/** What a wired service gives back to its runner. */
export interface RunningService {
  /** Called once the HTTP server listens (the hub attaches its WebSocket upgrade here). */
  attach?(server: Server): void;
  /** Called with the bound port, after `attach`. */
  listening?(port: number): void;
  /** Refresh on-demand gauges before a /metrics scrape. */
  collect?(): Promise<void>;
  /** Graceful stop: close sockets, drain, let go of Redis state. */
  stop(): Promise<void>;
}

/**
 * The whole life of a process, shared by every entrypoint: read and check the env (exit 1
 * naming a bad variable), open one Redis connection per role, serve the ops routes, wire the
 * service, listen, and on SIGTERM stop accepting, stop the service and close Redis.
 */
export async function runService<R extends RedisRole>(
  service: string,
  roles: readonly R[],
  wire: (ctx: ServiceContext<R>) => Promise<RunningService>,
  options: {
    /** Runs before Redis is connected (e.g. start a local Redis); its result runs last on shutdown. */
    prepare?: (ctx: { config: Config; log: Logger }) => Promise<(() => void) | void>;
    /** The process signs commands (api, hub, `npm start`): in production it needs COMMAND_SIGNING_KEY. */
    signsCommands?: boolean;
    /** Env overrides applied before the config is read (`npm start` points COMMAND_SIGNING_KEY_FILE at its own key). */
    env?: () => NodeJS.ProcessEnv;
  } = {},
): Promise<void> {
  const config = bootConfig(options.env?.() ?? process.env, { signsCommands: options.signsCommands });
  const log = createLogger({ level: config.LOG_LEVEL, nodeId: config.NODE_ID, service });
  const cleanup = await options.prepare?.({ config, log });
  const metrics = createMetrics(service, config.NODE_ID);
  const target = exitOnConfigError(() => redisTarget(config));
  // A cluster URL gives ioredis Cluster clients. They are handed on typed as Redis: the command
  // surface the services use is the same, and the stores take RedisClient in their own change.
  const redis = Object.fromEntries(roles.map((role) => [role, createRedisClient(target, role, log)])) as unknown as Record<R, Redis>;
  const connections = Object.values<Redis>(redis);
  let shuttingDown = false;
  // Set once wired; /metrics may be scraped before that.
  const running: { service?: RunningService } = {};
  const ops: OpsRoutesOptions = {
    connections,
    registry: metrics.registry,
    isShuttingDown: () => shuttingDown,
    collect: async () => running.service?.collect?.(),
  };
  const app = express();
  app.disable("x-powered-by");
  app.use(publicOpsRoutes({ ...ops, metricsToken: config.METRICS_TOKEN }));
  // The ops listener is a server socket of its own: a flood of upgrades on PORT (a connect storm
  // after a hub died) cannot queue a health probe or a scrape behind it.
  const opsApp = express();
  opsApp.disable("x-powered-by");
  opsApp.use(opsRoutes(ops));
  const opsServer = await listen(opsApp, config.OPS_PORT, config.OPS_HOST);
  const first = connections[0];
  try {
    // A cluster that refuses the credentials is a ConfigError here (whenReady), as is a changed LOG_PARTITIONS.
    await Promise.all(connections.map((r) => whenReady(r, 30_000)));
    if (first) {
      // LOG_PARTITIONS is fixed at a deployment's first start: a different count is refused here, before any write.
      const keys = createPartitionedKeys(config.REDIS_PREFIX, config.LOG_PARTITIONS, { cluster: isCluster(first) });
      await checkPartitionCount(first, keys, config.LOG_PARTITIONS);
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ err: err.message }, "refusing to start");
    process.stderr.write(`tether: ${err.message}\n`);
    process.exit(1);
  }
  const service_ = await wire({ config, log, metrics, clock: systemClock, redis, app });
  running.service = service_;
  const server = await listen(app, config.PORT, config.HOST);
  service_.attach?.(server);
  const port = (server.address() as { port: number }).port;
  const opsPort = (opsServer.address() as { port: number }).port;
  // The harness reads `ops_port` from this line (PORT=0 / OPS_PORT=0 pick free ports).
  log.info({ port, ops_port: opsPort, ops_host: config.OPS_HOST }, `${service} listening`);
  service_.listening?.(port);
  onShutdown(async () => {
    shuttingDown = true;
    const closed = closeServer(server);
    await service_.stop();
    await closed;
    await closeServer(opsServer);
    await Promise.all(connections.map(closeRedis));
    cleanup?.();
  }, log);
}
