import { createHash } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";
import { RedisStore, type RedisReply } from "rate-limit-redis";
import { isCluster, type GlobalKeys, type RedisClient } from "@tether/core";
import { HttpError } from "../errors";

/** The window both login limits count in. */
export const LOGIN_WINDOW_MS = 60_000;

export interface LoginLimitOptions {
  redis: RedisClient;
  keys: GlobalKeys;
  /** Failed logins per client address per window (LOGIN_RATE_LIMIT). */
  perAddress: number;
  /** Failed logins per username per window, from all addresses together (LOGIN_USER_RATE_LIMIT). */
  perUsername: number;
}

/**
 * The login limits (issue 11.7), as two express-rate-limit limiters over one Redis (so they hold
 * across api nodes). Both count failures only (`skipSuccessfulRequests`: a request counts when it
 * arrives, so parallel attempts are limited too, and is taken back when it succeeds):
 *
 * - per address: past `perAddress` failures, that address gets 429 for the rest of the window,
 *   whatever username it tries (40 parallel logins with distinct usernames included);
 * - per username: past `perUsername` failures (from anywhere), only an address with no failure
 *   of its own in the window may still try that username. So an attacker failing from one
 *   address, or from many, cannot lock the admin out of a clean address, while every address
 *   that guesses wrong once loses its turn at that username.
 *
 * Usernames are hashed into the key: what people tried is not kept in Redis in clear.
 */
export function loginLimits(opts: LoginLimitOptions): RequestHandler[] {
  const store = (kind: string) =>
    new RedisStore({
      prefix: `${opts.keys.loginLimit}${kind}:`,
      sendCommand: (command: string, ...args: string[]) => sendCommand(opts.redis, command, args),
    });
  const refuse: RequestHandler = (_req, _res, next) => next(new HttpError(429, "rate_limited", "too many failed logins, wait a minute"));
  const addressKey = (req: Request) => ipKeyGenerator(req.ip ?? "");

  const perAddress = rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    limit: opts.perAddress,
    skipSuccessfulRequests: true,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    store: store("ip"),
    keyGenerator: addressKey,
    handler: refuse,
  });

  const perUsername = rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    // This request is already counted for its address (the limiter above ran first): one hit
    // there is this very attempt, i.e. the address has no failure of its own.
    limit: async (req) => (((await perAddress.getKey(addressKey(req)))?.totalHits ?? 0) <= 1 ? Number.MAX_SAFE_INTEGER : opts.perUsername),
    skipSuccessfulRequests: true,
    // The address limiter's headers already describe this client.
    standardHeaders: false,
    legacyHeaders: false,
    store: store("user"),
    keyGenerator: (req) => usernameKey(req.body),
    handler: refuse,
  });
  return [perAddress, perUsername];
}

/**
 * One command of the limiter's store. Each EVALSHA names its one key, so on a Redis Cluster it
 * goes to that key's master; the store's SCRIPT LOAD (at start, and again after a NOSCRIPT, e.g.
 * on a master that took over) is therefore sent to every master, so whichever one serves a key
 * has the script. Every master computes the same SHA1; the first is returned.
 */
async function sendCommand(redis: RedisClient, command: string, args: string[]): Promise<RedisReply> {
  if (isCluster(redis) && command.toUpperCase() === "SCRIPT" && args[0]?.toUpperCase() === "LOAD") {
    const shas = await Promise.all(redis.nodes("master").map((node) => node.call(command, ...args)));
    return shas[0] as RedisReply;
  }
  return redis.call(command, ...args) as Promise<RedisReply>;
}

/** A fixed-size key for the username in a login body ('' when there is none). */
function usernameKey(body: unknown): string {
  const username = typeof body === "object" && body !== null ? (body as { username?: unknown }).username : undefined;
  const text = typeof username === "string" ? username.slice(0, 128).toLowerCase() : "";
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}
