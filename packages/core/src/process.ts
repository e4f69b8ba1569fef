import { createServer, type RequestListener, type Server } from "node:http";
import { ConfigError, loadConfig, type Config, type LoadConfigOptions } from "./config";
import type { Logger } from "./logger";

/** Read the environment, or exit 1 with a message naming each bad variable. */
export function bootConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  return exitOnConfigError(() => loadConfig(env, options));
}

/** Runs a start-up step that may throw {@link ConfigError}; on one, prints it and exits 1 (as a bad env does). */
export function exitOnConfigError<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tether: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Pending connections the kernel may queue (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

/** Listen on `port` (0 = any free port); resolves with the server once bound. */
export function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = createServer(handler);
  // Long-lived sockets are the point here; keep idle HTTP connections from piling up.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // A deep accept queue: after a hub dies thousands of agents dial at once, and Node's default
    // backlog (511) drops their SYNs, which the kernel only retries after 1 s, 3 s, 7 s.
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/**
 * SIGTERM/SIGINT run `stop` once (stop accepting, close sockets with 1001, drain), bounded by
 * `timeoutMs`, then exit. A second signal exits at once.
 */
export function onShutdown(stop: () => Promise<void>, log: Logger, timeoutMs = 10_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** Close an HTTP server, ending idle keep-alive connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
