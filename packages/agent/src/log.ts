import type { Clock } from "./clock";
import { systemClock } from "./clock";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Values a log line can carry; `undefined` fields are left out. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** One line per event, `<ISO time> <level> <event> key=value …`, to stderr by default. */
export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export interface LogOptions {
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default: stderr, so stdout stays free for whoever wraps the agent. */
  write?: (line: string) => void;
  clock?: Clock;
  /**
   * Strings that must never appear in a line (the token). Logging it is always a bug, but this
   * makes sure such a bug cannot leak it.
   */
  secrets?: readonly string[];
}

/** Quotes a value only when a plain `key=value` parse would break on it. */
function formatValue(value: string | number | boolean | null): string {
  if (typeof value !== "string") return String(value);
  return value !== "" && /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
}

/** Creates the plain one-line-per-event logger described in the README. */
export function createLog(options: LogOptions = {}): Log {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const clock = options.clock ?? systemClock;
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0);

  const emit = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    let line = `${new Date(clock.now()).toISOString()} ${level} ${event}`;
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
    }
    for (const secret of secrets) line = line.split(secret).join("[redacted]");
    write(line + "\n");
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}
