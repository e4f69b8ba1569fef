import express, { type Express } from "express";
import type { Server } from "node:http";
import type { Redis } from "ioredis";
import { systemClock, type Clock } from "./clock";
import type { Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { createMetrics, type Metrics } from "./metrics";
import { opsRoutes } from "./ops-routes";
import { bootConfig, closeServer, exitOnConfigError, listen, onShutdown } from "./process";
import { closeRedis, createRedis, redisTarget, whenReady, type RedisRole } from "./redis";

/** What an entrypoint's `wire` gets: everything read from the environment and opened for it. */
export interface ServiceContext<R extends RedisRole> {
  config: Config;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** One connection per role, owned by the runner (closed after `stop`). */
  redis: Record<R, Redis>;
  /** The HTTP app, with /healthz, /readyz and /metrics already mounted. */
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
  const redis = Object.fromEntries(roles.map((role) => [role, createRedis(target, role, log)])) as Record<R, Redis>;
  const connections = Object.values<Redis>(redis);
  let shuttingDown = false;
  // Set once wired; /metrics may be scraped before that.
  const running: { service?: RunningService } = {};
  const app = express();
  app.disable("x-powered-by");
  app.use(
    opsRoutes({
      connections,
      registry: metrics.registry,
      isShuttingDown: () => shuttingDown,
      collect: async () => running.service?.collect?.(),
    }),
  );
  await Promise.all(connections.map((r) => whenReady(r, 30_000)));
  const service_ = await wire({ config, log, metrics, clock: systemClock, redis, app });
  running.service = service_;
  const server = await listen(app, config.PORT, config.HOST);
  service_.attach?.(server);
  const port = (server.address() as { port: number }).port;
  log.info({ port }, `${service} listening`);
  service_.listening?.(port);
  onShutdown(async () => {
    shuttingDown = true;
    const closed = closeServer(server);
    await service_.stop();
    await closed;
    await Promise.all(connections.map(closeRedis));
    cleanup?.();
  }, log);
}
