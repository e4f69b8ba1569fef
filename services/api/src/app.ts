import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import express, { type Express } from "express";
import session from "express-session";
import { RedisStore } from "connect-redis";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import {
  LogReader,
  AuditLog,
  QueueName,
  SYSTEM_ACTOR,
  createCommandSigner,
  createStores,
  queuePrefix,
  migrateRecordMacs,
  SESSION_COOKIE,
  type Clock,
  type Config,
  type DispatchDeps,
  type DispatchJob,
  type Logger,
  type Metrics,
} from "@tether/core";
import { errorHandler, HttpError } from "./errors";
import { requireJsonBody } from "./middleware/json-only";
import { requireOrigin } from "./middleware/origin";
import { securityHeaders } from "./middleware/security-headers";
import { authenticate } from "./middleware/auth";
import { sessionRoutes } from "./routes/session";
import { hostRoutes } from "./routes/hosts";
import { commandRoutes } from "./routes/commands";
import { eventRoutes } from "./routes/events";
import { userRoutes } from "./routes/users";
import { teamRoutes } from "./routes/teams";
import { tokenRoutes } from "./routes/tokens";
import { auditRoutes } from "./routes/audit";
import { signingKeyRoutes } from "./routes/signing-keys";
import { docsRoutes } from "./routes/docs";
import { runRoutes } from "./routes/runs";

/** Largest JSON body the API accepts. */
export const MAX_BODY = "64kb";
/** Session lifetime: 7 days from login (not extended by use). */
export const SESSION_TTL_S = 7 * 24 * 3600;

export interface ApiDeps {
  config: Pick<
    Config,
    | "REDIS_PREFIX"
    | "NODE_ID"
    | "SESSION_SECRET"
    | "ALLOWED_ORIGINS"
    | "TRUST_PROXY"
    | "LOGIN_RATE_LIMIT"
    | "LOGIN_USER_RATE_LIMIT"
    | "LOGIN_MAX_HASHES"
    | "LOGIN_MAX_WAITING"
    | "LOG_MAX_LEN"
    | "ADMIN_USER"
    | "ADMIN_PASSWORD"
    | "AUDIT_MAX_AGE_MS"
    | "MAX_OUTPUT_BYTES_PER_COMMAND"
    | "OUTPUT_MAX_AGE_MS"
    | "MAX_MESSAGE_BYTES"
    | "CANCEL_TIMEOUT_MS"
    | "COMMAND_TTL_MS"
    | "commandSigningKey"
    | "previousSigningKeys"
    | "MAX_RUN_HOSTS"
  >;
  /** Caller-owned connections: `command` for reads/writes and sessions, `bullmq` for the queue. */
  redis: { command: Redis; bullmq: Redis };
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Built dashboard to serve at `/` (skipped when absent). */
  staticDir?: string;
}

export interface Api {
  /** The Express app; the caller mounts ops routes and calls `listen`. */
  app: Express;
  /**
   * Seal records from before MACs and migrate v1's users (each becomes an admin) while the store
   * predates MACs (`migrateRecordMacs`), then create the admin from
   * ADMIN_USER/ADMIN_PASSWORD, or, with `generateIfNone` and no users, a random one.
   */
  bootstrapAdmin(opts: { generateIfNone: boolean }): Promise<{ username: string; password: string } | null>;
  close(): Promise<void>;
}

/** The API: sessions, users, hosts, commands, the event log; serves the dashboard. */
export function createApi(deps: ApiDeps): Api {
  const { config, redis, clock, log, metrics } = deps;
  const { keys, logs, hosts, commands, users, teams, apiTokens, macs, runs, runEngine } = createStores(redis.command, config, metrics, {
    clock,
    log,
  });
  const audit = new AuditLog(redis.command, keys, config.AUDIT_MAX_AGE_MS, () => clock.now());
  const queue = new Queue<DispatchJob>(QueueName.COMMANDS, {
    connection: redis.bullmq,
    prefix: queuePrefix(keys.bullPrefix, QueueName.COMMANDS, redis.bullmq),
  });
  queue.on("error", (err) => log.warn({ err: err.message }, "command queue error"));
  const signer = createCommandSigner({
    privateKey: config.commandSigningKey,
    previous: config.previousSigningKeys,
    commandTtlMs: config.COMMAND_TTL_MS,
  });
  const dispatch: DispatchDeps = {
    hosts,
    commands,
    queue,
    redis: redis.command,
    keys,
    nodeId: config.NODE_ID,
    now: () => clock.now(),
    audit,
    maxFrameBytes: config.MAX_MESSAGE_BYTES,
    cancelTimeoutMs: config.CANCEL_TIMEOUT_MS,
    commandTtlMs: config.COMMAND_TTL_MS,
    signer,
  };
  const auth = authenticate({ users, apiTokens, clock, macs });
  const bus = { redis: redis.command, keys, nodeId: config.NODE_ID };

  const app = express();
  app.disable("x-powered-by");
  app.use(securityHeaders());
  app.set("trust proxy", config.TRUST_PROXY ? 1 : false);
  app.use((req, res, next) => {
    // A request id in every log line of the request, echoed to the client for support.
    const incoming = req.headers["x-request-id"];
    const id = typeof incoming === "string" && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", id);
    req.log = log.child({ req: id });
    next();
  });

  const api = express.Router();
  api.use(requireJsonBody);
  api.use(express.json({ limit: MAX_BODY }));
  api.use("/signing-keys", signingKeyRoutes({ signer })); // public (CONTRACT §5): before origin and session checks
  api.use(docsRoutes({ maxBody: MAX_BODY })); // public: /api/openapi.json and /api/docs
  api.use(requireOrigin(config.ALLOWED_ORIGINS, config.TRUST_PROXY));
  api.use(
    session({
      name: SESSION_COOKIE,
      secret: config.SESSION_SECRET,
      store: new RedisStore({ client: redis.command, prefix: keys.sessionPrefix, ttl: SESSION_TTL_S }),
      resave: false,
      saveUninitialized: false,
      rolling: false,
      proxy: config.TRUST_PROXY,
      cookie: { httpOnly: true, sameSite: "lax", secure: "auto", path: "/", maxAge: SESSION_TTL_S * 1000 },
    }),
  );
  api.use(
    "/session",
    sessionRoutes({
      ...bus,
      users,
      macs,
      audit,
      loginLimit: config.LOGIN_RATE_LIMIT,
      loginUserLimit: config.LOGIN_USER_RATE_LIMIT,
      hashes: { max: config.LOGIN_MAX_HASHES, maxWaiting: config.LOGIN_MAX_WAITING },
      authenticate: auth,
    }),
  );
  api.use(auth);
  api.use("/hosts", hostRoutes({ ...bus, hosts, commands, teams, dispatch, audit, clock }));
  api.use("/commands", commandRoutes({ commands, hosts, dispatch }));
  api.use("/events", eventRoutes({ reader: new LogReader(logs, keys.all, redis.command) }));
  api.use("/users", userRoutes({ ...bus, users, teams, apiTokens, audit, clock }));
  api.use("/teams", teamRoutes({ teams, audit }));
  api.use("/tokens", tokenRoutes({ apiTokens, users, audit, clock }));
  api.use("/audit", auditRoutes({ audit }));
  api.use(
    "/runs",
    runRoutes({
      hosts,
      runs,
      runEngine,
      dispatch,
      audit,
      clock,
      maxRunHosts: config.MAX_RUN_HOSTS,
      commandTtlMs: config.COMMAND_TTL_MS,
    }),
  );
  api.use((_req, _res, next) => next(new HttpError(404, "not_found", "no such endpoint")));
  app.use("/api", api);

  if (deps.staticDir && existsSync(deps.staticDir)) {
    app.use(express.static(deps.staticDir, { index: "index.html", maxAge: "1h" }));
  }
  app.use(errorHandler);

  return {
    app,
    async bootstrapAdmin({ generateIfNone }) {
      // Records from before MACs get theirs (issue 13.3), then v1's users move (record-migration.ts).
      const m = await migrateRecordMacs({ redis: redis.command, keys, users, apiTokens, hosts });
      if (m.sealed && m.users + m.tokens + m.hosts > 0) {
        log.warn(m, `records: added MACs to ${m.users} users, ${m.tokens} tokens, ${m.hosts} hosts (written before record MACs)`);
      }
      const migrated = m.legacyUsers;
      if (migrated > 0) log.info({ users: migrated }, "migrated users from the single-user format; each is now an admin");
      const createAdmin = async (username: string, password: string) => {
        const user = await users.create({ username, password, role: "admin", teams: null, now: clock.now() });
        if (user) {
          await audit.append({
            actor: SYSTEM_ACTOR,
            action: "user.created",
            target: { type: "user", id: user.id, name: username },
            detail: { role: "admin" },
          });
        }
        return user;
      };
      if (config.ADMIN_USER && config.ADMIN_PASSWORD) {
        if (await createAdmin(config.ADMIN_USER, config.ADMIN_PASSWORD)) log.info({ user: config.ADMIN_USER }, "admin user created");
        return null;
      }
      if (!generateIfNone || (await users.count()) > 0) return null;
      const password = (await import("node:crypto")).randomBytes(12).toString("base64url");
      return (await createAdmin("admin", password)) ? { username: "admin", password } : null;
    },
    async close() {
      runEngine.close();
      await queue.close().catch(() => undefined);
    },
  };
}
