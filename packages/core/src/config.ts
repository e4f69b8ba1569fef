import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off", ""])
  .default("off" as never)
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

/**
 * Every environment variable Tether reads, with its default (CONTRACT §1, plus additions marked).
 * Parsed once at start; a bad value exits non-zero naming the variable.
 */
export const ConfigSchema = z.object({
  NODE_ENV: z.string().default("development"),
  /** The Redis every service shares. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:6379"),
  /** Namespace for every key, channel and queue. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only")
    .default("tether"),
  /** HTTP/WebSocket port of this process (0 picks a free one). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** Interface to listen on (addition). */
  HOST: z.string().default("0.0.0.0"),
  /** Signs session cookies; api and hubs must share it. */
  SESSION_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  ADMIN_USER: z.string().min(1).max(128).optional(),
  ADMIN_PASSWORD: z.string().min(8, "must be at least 8 characters").max(1024).optional(),
  /** Comma-separated allowed browser origins; empty = the process's own origin. */
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim().replace(/\/$/, ""))
        .filter(Boolean),
    )
    .pipe(z.array(z.url("each origin must be a URL like https://tether.example.com"))),
  /** Trust X-Forwarded-* from a load balancer. */
  TRUST_PROXY: flag,
  /** After an agent's socket is gone, its host turns offline after this long (ms). */
  OFFLINE_TIMEOUT_MS: ms(30_000),
  /** Keepalive ping interval on every socket (ms). */
  PING_INTERVAL_MS: ms(30_000),
  /** How long a queued command waits for an offline host (ms). */
  COMMAND_TTL_MS: ms(3_600_000),
  /** Largest inbound WebSocket frame (bytes). */
  MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(65_536),
  /** Addition: this node's id in logs, metrics and presence (default: hostname-random). */
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .optional(),
  /** Addition: a hub's liveness key lives this long without a refresh (ms). */
  HUB_TTL_MS: ms(15_000),
  /** Addition: how often the worker sweeps for dead hubs and trims the log (ms). */
  SWEEP_INTERVAL_MS: ms(5_000),
  /** Addition: a BullMQ job lock; a job whose worker died is retried after about this long (ms). */
  JOB_LOCK_MS: ms(30_000),
  /** Addition: the event log keeps about this many events. */
  LOG_MAX_LEN: z.coerce.number().int().min(100).default(100_000),
  /** Addition: the event log drops events older than this (ms). */
  LOG_MAX_AGE_MS: ms(86_400_000),
  /** Addition: a browser socket with more than this many bytes unsent is closed with 1013. */
  MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Addition: frames per second one agent socket may send (bursts of 4× that); over it → 1008. */
  AGENT_FRAMES_PER_SEC: z.coerce.number().int().min(1).default(5000),
  /** Addition: frames per second one browser socket may send (bursts of 5× that); over it → 1008. */
  BROWSER_FRAMES_PER_SEC: z.coerce.number().int().min(1).default(20),
  /**
   * Addition: WebSocket handshakes a hub works on at once (authenticating; an agent until it is
   * online). More wait their turn, and past ten times as many waiting they get 503 + Retry-After.
   */
  MAX_PENDING_HANDSHAKES: z.coerce.number().int().min(1).default(1024),
  /** Addition: login attempts per IP and username per minute. */
  LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
  /** CONTRACT §4: audit entries older than this are dropped (ms; default 365 days). Never trimmed by count. */
  AUDIT_MAX_AGE_MS: ms(365 * 24 * 3600 * 1000),
  /** Addition: pino level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type RawConfig = z.infer<typeof ConfigSchema>;
export type Config = Omit<RawConfig, "SESSION_SECRET" | "NODE_ID"> & {
  SESSION_SECRET: string;
  NODE_ID: string;
  /** True when SESSION_SECRET was generated for this start (sessions die with the process). */
  sessionSecretGenerated: boolean;
};

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
  }
}

/** Parse the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`));
  }
  const raw = parsed.data;
  if (raw.NODE_ENV === "production" && !raw.SESSION_SECRET) {
    throw new ConfigError(["SESSION_SECRET: required when NODE_ENV=production"]);
  }
  if ((raw.ADMIN_USER === undefined) !== (raw.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(["ADMIN_USER, ADMIN_PASSWORD: set both or neither"]);
  }
  return {
    ...raw,
    SESSION_SECRET: raw.SESSION_SECRET ?? randomBytes(32).toString("hex"),
    sessionSecretGenerated: raw.SESSION_SECRET === undefined,
    NODE_ID: raw.NODE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, "") || "node"}-${randomBytes(3).toString("hex")}`,
  };
}
