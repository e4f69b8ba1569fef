import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { loadSigningKeys, SigningKeyError } from "./signing";
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
  /**
   * The Redis every service shares; `redis+cluster://host:port[,host:port…]` (`rediss+cluster://`
   * for TLS) names a Redis Cluster by its seed nodes (CONTRACT §7; every connection is then a
   * cluster client, see redisTarget).
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\//, "must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL")
    .default("redis://127.0.0.1:6379"),
  /**
   * Addition: a PEM file of the CA(s) that signed the Redis server's certificate, for a
   * `rediss://` REDIS_URL whose server the system CAs do not vouch for (a private CA).
   */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /**
   * Addition: Redis Sentinel. `host:port,host:port…` of the Sentinels; every connection (commands,
   * Pub/Sub, BullMQ, sessions) then asks them for the current primary of REDIS_SENTINEL_NAME and
   * follows a failover. REDIS_URL still gives the credentials, database and TLS (`rediss://`);
   * its host and port are not used.
   */
  REDIS_SENTINELS: z
    .string()
    .regex(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, "must be host:port[,host:port…]")
    .optional(),
  /** The Sentinels' name for the primary (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only")
    .default("mymaster"),
  /** Password of the Sentinels themselves (their `requirepass`), when they ask for one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** Namespace for every key, channel and queue. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only")
    .default("tether"),
  /**
   * CONTRACT §7: how many partitions the event log, the host and command state and the fan-out
   * channels are split into (by host), each in its own hash slot. Fixed when a deployment is
   * first started: a process started with a different count is refused (checkPartitionCount).
   */
  LOG_PARTITIONS: z.coerce.number().int().min(1).max(256).default(1),
  /** HTTP/WebSocket port of this process (0 picks a free one). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** Interface to listen on (addition). */
  HOST: z.string().default("0.0.0.0"),
  /** Signs session cookies; api and hubs must share it. */
  SESSION_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /**
   * Addition (CONTRACT §5): Ed25519 private key (PKCS#8 PEM) that signs commands; api and hubs
   * must share it. Or COMMAND_SIGNING_KEY_FILE, a file holding it. Never written to Redis.
   */
  COMMAND_SIGNING_KEY: z.string().min(1).optional(),
  COMMAND_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** Addition (CONTRACT §5): comma-separated rotated-out public keys (SPKI PEM, or files holding one). */
  COMMAND_SIGNING_KEYS_PREVIOUS: z.string().default(""),
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
  /**
   * Addition: a hub's liveness key lives this long without a refresh (ms). Default derived from
   * OFFLINE_TIMEOUT_MS (see {@link deriveTimings}); at least 300, so its refresh (a third of it,
   * at least 100 ms) always comes before it lapses.
   */
  HUB_TTL_MS: z.coerce.number().int().min(300).optional(),
  /** Addition: how often the worker sweeps for dead hubs and trims the log (ms). Default derived from OFFLINE_TIMEOUT_MS. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).optional(),
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
  REGISTER_GRACE_MS: z.coerce.number().int().min(1).max(60_000).default(250),
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
  /**
   * Addition: output one command may store (bytes, as stored: JSON-encoded chunk text). Past it
   * the command keeps running, one stderr marker says its output was cut, and the agent is told
   * (`error` `output_truncated`) to stop sending.
   */
  MAX_OUTPUT_BYTES_PER_COMMAND: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** Addition: a finished command's output list and private state live this long after it finished (ms). */
  OUTPUT_MAX_AGE_MS: ms(7 * 86_400_000),
  /**
   * Addition: a running command that was cancelled ends `cancelled` on the server after this long
   * (ms) even when its agent never reports back (offline, unreachable, or it never got the cancel).
   */
  CANCEL_TIMEOUT_MS: ms(15_000),
  /** Addition: open browser sockets one session may hold across every hub; more get 429 before the upgrade. */
  MAX_SOCKETS_PER_SESSION: z.coerce.number().int().min(1).default(20),
  /** CONTRACT §6: most hosts one run may target; a target matching more is refused with 400. */
  MAX_RUN_HOSTS: z.coerce.number().int().min(1).default(10_000),
  /** Addition: pino level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  // --- Exposure and login limits (issue 11.6, 11.7) -------------------------------------------
  /**
   * Addition (CONTRACT §1 v2): port of the ops listener (/metrics, /healthz, /readyz), a server
   * socket of its own. Default: PORT + 1000, or a free port when PORT is 0; `0` picks a free one.
   */
  OPS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Addition: interface of the ops listener; loopback unless the operator opens it (Compose: the network). */
  OPS_HOST: z.string().min(1).default("127.0.0.1"),
  /** Addition: when set, `GET /metrics` on PORT answers with `Authorization: Bearer <it>` (else 401); unset → 404 there. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Addition: failed logins per username per minute (from every address); past it only addresses with no failures may try. */
  LOGIN_USER_RATE_LIMIT: z.coerce.number().int().min(1).default(50),
  /** Addition: password hashes (scrypt, ~32 MiB each) computed at once by one api process. */
  LOGIN_MAX_HASHES: z.coerce.number().int().min(1).default(4),
  /** Addition: logins waiting for a hash slot; past it a login is answered 503 + Retry-After. */
  LOGIN_MAX_WAITING: z.coerce.number().int().min(0).default(64),
});
export type RawConfig = z.infer<typeof ConfigSchema>;
export type Config = Omit<
  RawConfig,
  | "SESSION_SECRET"
  | "NODE_ID"
  | "HUB_TTL_MS"
  | "SWEEP_INTERVAL_MS"
  | "COMMAND_SIGNING_KEY"
  | "COMMAND_SIGNING_KEY_FILE"
  | "COMMAND_SIGNING_KEYS_PREVIOUS"
  | "OPS_PORT"
> & {
  SESSION_SECRET: string;
  NODE_ID: string;
  HUB_TTL_MS: number;
  SWEEP_INTERVAL_MS: number;
  /** Resolved: as given, else PORT + 1000 (0 when PORT is 0). */
  OPS_PORT: number;
  /** True when SESSION_SECRET was generated for this start (sessions die with the process). */
  sessionSecretGenerated: boolean;
  /** The command signing key (a KeyObject: it never serialises its secret into a log line). */
  commandSigningKey: KeyObject;
  /** True when no key was configured and this one was generated for this start. */
  commandSigningKeyGenerated: boolean;
  /** Rotated-out public keys, still listed by `GET /api/signing-keys`. */
  previousSigningKeys: KeyObject[];
};

/** What the process does with the config: only those that sign commands need the key in production. */
export interface LoadConfigOptions {
  /** api, hubs and `npm start` sign commands: in production they refuse to start without a key. */
  signsCommands?: boolean;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
  }
}

/** Parse the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`));
  }
  const raw = parsed.data;
  if (raw.NODE_ENV === "production" && !raw.SESSION_SECRET) {
    throw new ConfigError(["SESSION_SECRET: required when NODE_ENV=production"]);
  }
  if (raw.REDIS_TLS_CA_FILE !== undefined && !/^rediss(\+cluster)?:\/\//.test(raw.REDIS_URL)) {
    throw new ConfigError(["REDIS_TLS_CA_FILE: set only with a rediss:// REDIS_URL (TLS; or rediss+cluster://)"]);
  }
  if (raw.REDIS_SENTINELS !== undefined && /^rediss?\+cluster:\/\//.test(raw.REDIS_URL)) {
    // A cluster fails over by itself; Sentinels watch a single primary. Both at once is a mistake.
    throw new ConfigError(["REDIS_SENTINELS: not with a Redis Cluster REDIS_URL (a cluster fails over by itself)"]);
  }
  if ((raw.ADMIN_USER === undefined) !== (raw.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(["ADMIN_USER, ADMIN_PASSWORD: set both or neither"]);
  }
  const opsPort = raw.OPS_PORT ?? (raw.PORT === 0 ? 0 : raw.PORT + 1000);
  if (opsPort > 65535) throw new ConfigError([`OPS_PORT: PORT + 1000 (${opsPort}) is not a port; set OPS_PORT`]);
  if (opsPort !== 0 && opsPort === raw.PORT) throw new ConfigError(["OPS_PORT: must differ from PORT"]);
  const timings = deriveTimings(raw);
  if (typeof timings === "string") throw new ConfigError([timings]);
  const { COMMAND_SIGNING_KEY, COMMAND_SIGNING_KEY_FILE, COMMAND_SIGNING_KEYS_PREVIOUS, ...rest } = raw;
  let signing: ReturnType<typeof loadSigningKeys>;
  try {
    signing = loadSigningKeys({ COMMAND_SIGNING_KEY, COMMAND_SIGNING_KEY_FILE, COMMAND_SIGNING_KEYS_PREVIOUS });
  } catch (err) {
    if (err instanceof SigningKeyError) throw new ConfigError([err.message]);
    throw err;
  }
  if (signing.generated && options.signsCommands && raw.NODE_ENV === "production") {
    throw new ConfigError(["COMMAND_SIGNING_KEY: required when NODE_ENV=production (or COMMAND_SIGNING_KEY_FILE)"]);
  }
  return {
    ...rest,
    ...timings,
    OPS_PORT: opsPort,
    commandSigningKey: signing.privateKey,
    commandSigningKeyGenerated: signing.generated,
    previousSigningKeys: signing.previous,
    SESSION_SECRET: raw.SESSION_SECRET ?? randomBytes(32).toString("hex"),
    sessionSecretGenerated: raw.SESSION_SECRET === undefined,
    NODE_ID: raw.NODE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, "") || "node"}-${randomBytes(3).toString("hex")}`,
  };
}

/**
 * HUB_TTL_MS and SWEEP_INTERVAL_MS, explicit or derived from OFFLINE_TIMEOUT_MS, so that a host
 * of a hub killed with `kill -9` turns offline within 2 × OFFLINE_TIMEOUT_MS (CONTRACT §3).
 *
 * The worst case after a kill: the liveness key lapses at most HUB_TTL_MS later (it was last
 * refreshed before the kill), the next sweep sees it at most SWEEP_INTERVAL_MS after that, and
 * the offline check then waits what is left of the timeout, but at least half a TTL (a hub that
 * only stalled gets that long to beat again): max(OFFLINE − TTL, TTL/2). So the host is offline
 * by max(OFFLINE, 1.5 × TTL) + SWEEP. The defaults (TTL = OFFLINE, at most 15 s; SWEEP =
 * OFFLINE/4, at most 5 s) make that 1.75 × OFFLINE at most; 30 s gives today's 15 s and 5 s.
 * Explicit values win, but a combination past 1.9 × OFFLINE is refused: the last tenth is kept
 * for the queue and the processes to do their work. Returns the message when refused.
 */
export function deriveTimings(
  raw: Pick<RawConfig, "OFFLINE_TIMEOUT_MS" | "HUB_TTL_MS" | "SWEEP_INTERVAL_MS">,
): { HUB_TTL_MS: number; SWEEP_INTERVAL_MS: number } | string {
  const offline = raw.OFFLINE_TIMEOUT_MS;
  const HUB_TTL_MS = raw.HUB_TTL_MS ?? Math.max(300, Math.min(15_000, offline));
  const SWEEP_INTERVAL_MS = raw.SWEEP_INTERVAL_MS ?? Math.max(10, Math.min(5_000, Math.floor(offline / 4)));
  const worst = Math.max(offline, Math.ceil(1.5 * HUB_TTL_MS)) + SWEEP_INTERVAL_MS;
  if (worst > 1.9 * offline) {
    return (
      `OFFLINE_TIMEOUT_MS, HUB_TTL_MS, SWEEP_INTERVAL_MS: a killed hub's hosts could take ${worst} ms to turn offline ` +
      `(max(OFFLINE_TIMEOUT_MS=${offline}, 1.5 × HUB_TTL_MS=${HUB_TTL_MS}) + SWEEP_INTERVAL_MS=${SWEEP_INTERVAL_MS}), ` +
      `more than 1.9 × OFFLINE_TIMEOUT_MS = ${Math.floor(1.9 * offline)} ms; the contract allows 2 × OFFLINE_TIMEOUT_MS`
    );
  }
  return { HUB_TTL_MS, SWEEP_INTERVAL_MS };
}
