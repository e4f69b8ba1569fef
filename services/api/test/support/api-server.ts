/**
 * The real API app (`createApi`) over a real throwaway Redis, listening on a free port in this
 * process: what the int tests of services/api call with plain HTTP.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { closeRedis, createLogger, createMetrics, createRedis, loadConfig, systemClock, whenReady, type Config } from "@tether/core";
import type { Redis } from "ioredis";
import { startTestRedis, type TestRedis } from "../../../../test/support/redis";
import { createApi, type Api } from "../../src/app";

/** The browser origin every test request claims (in ALLOWED_ORIGINS). */
export const ORIGIN = "http://tether.test";

export interface ApiServer {
  readonly url: string;
  readonly config: Config;
  readonly redis: TestRedis;
  /** The api's own command connection (to look at keys it wrote). */
  readonly command: Redis;
  readonly api: Api;
  readonly admin: { username: string; password: string };
  close(): Promise<void>;
}

/** Starts the api app on 127.0.0.1:0 with its own Redis; `env` adds or overrides variables. */
export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const redis = await startTestRedis();
  const admin = { username: "admin", password: "correct-horse-battery" };
  const config = loadConfig({
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    SESSION_SECRET: "s".repeat(32),
    ALLOWED_ORIGINS: ORIGIN,
    ADMIN_USER: admin.username,
    ADMIN_PASSWORD: admin.password,
    LOG_LEVEL: "silent",
    ...env,
  });
  const log = createLogger({ level: config.LOG_LEVEL, nodeId: config.NODE_ID, service: "api" });
  const command = createRedis(config.REDIS_URL, "command", log);
  const bullmq = createRedis(config.REDIS_URL, "bullmq", log);
  await Promise.all([whenReady(command), whenReady(bullmq)]);
  const api = createApi({ config, redis: { command, bullmq }, clock: systemClock, log, metrics: createMetrics("api", config.NODE_ID) });
  await api.bootstrapAdmin({ generateIfNone: false });
  const server: Server = createServer(api.app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    redis,
    command,
    api,
    admin,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await api.close();
      await Promise.all([closeRedis(command), closeRedis(bullmq)]);
      await redis.stop();
    },
  };
}

/** A raw HTTP response. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request, the bytes exactly as given (no URL normalisation, so `%zz` reaches the server as
 * is). `body` as a Buffer is sent untouched; an object as JSON.
 */
export async function send(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: Buffer | object; cookie?: string } = {},
): Promise<Reply> {
  const { request } = await import("node:http");
  const url = new URL(base);
  const headers: Record<string, string> = { origin: ORIGIN, ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  let body: Buffer | undefined;
  if (Buffer.isBuffer(opts.body)) body = opts.body;
  else if (opts.body !== undefined) {
    body = Buffer.from(JSON.stringify(opts.body));
    headers["content-type"] ??= "application/json";
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Logs in and returns the session cookie (`tether.sid=…`). */
export async function loginCookie(server: ApiServer, headers: Record<string, string> = {}): Promise<string> {
  const res = await send(server.url, "POST", "/api/session", { body: server.admin, headers });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
  const setCookie = res.headers["set-cookie"];
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return first!.split(";")[0]!;
}

/** The `{error: {code}}` of a reply. */
export function errorCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
