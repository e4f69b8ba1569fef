import pino from "pino";

export type Logger = pino.Logger;

/** Structured logs: pretty in a terminal, JSON otherwise; every line carries the node id. */
export function createLogger(opts: { level: string; nodeId: string; service: string }): Logger {
  const pretty = process.stdout.isTTY && !process.env.CI;
  return pino({
    level: opts.level,
    base: { node: opts.nodeId, svc: opts.service },
    redact: { paths: ["token", "password", "*.token", "*.password", "req.headers.authorization", "req.headers.cookie"], remove: true },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } } : {}),
  });
}
