import { Router } from "express";
import { rateLimit, ipKeyGenerator } from "express-rate-limit";
import { RedisStore as RateLimitStore, type RedisReply } from "rate-limit-redis";
import type { Redis } from "ioredis";
import { LoginBodySchema } from "@tether/protocol";
import { SESSION_COOKIE, type ControlMessage, type Keys } from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { requireSession } from "../middleware/session";
import type { UserStore } from "../users";

export interface SessionRoutesDeps {
  redis: Redis;
  keys: Keys;
  users: UserStore;
  nodeId: string;
  /** Login attempts per IP and username per minute. */
  loginLimit: number;
}

/** `POST/GET/DELETE /api/session` (CONTRACT §2). */
export function sessionRoutes(deps: SessionRoutesDeps): Router {
  const router = Router();
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: deps.loginLimit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // Shared by every API node, so the limit holds behind a load balancer too.
    store: new RateLimitStore({
      prefix: deps.keys.loginLimit,
      sendCommand: (command: string, ...args: string[]) => deps.redis.call(command, ...args) as Promise<RedisReply>,
    }),
    keyGenerator: (req) => {
      const body = req.body as { username?: unknown } | undefined;
      const username = typeof body?.username === "string" ? body.username.slice(0, 128) : "";
      return `${ipKeyGenerator(req.ip ?? "")}|${username}`;
    },
    handler: (_req, _res, next) => next(new HttpError(429, "rate_limited", "too many login attempts, wait a minute")),
  });

  router.post("/", loginLimiter, async (req, res, next) => {
    try {
      const body = parseOr400(LoginBodySchema, req.body);
      const user = await deps.users.verify(body.username, body.password);
      if (!user) throw new HttpError(401, "bad_credentials", "wrong username or password");
      // A new session id on login: a session fixed before login is worth nothing.
      await settle((cb) => req.session.regenerate(cb));
      req.session.user = user;
      await settle((cb) => req.session.save(cb));
      res.json({ user });
    } catch (err) {
      next(err);
    }
  });

  router.get("/", requireSession, (req, res) => {
    res.json({ user: req.session.user });
  });

  router.delete("/", requireSession, async (req, res, next) => {
    try {
      const sid = req.sessionID;
      await settle((cb) => req.session.destroy(cb));
      // Open sockets of this session, on whichever hub, close with 4401.
      const msg: ControlMessage = { kind: "session_revoked", node: deps.nodeId, sid };
      await deps.redis.publish(deps.keys.controlChannel, JSON.stringify(msg));
      res.clearCookie(SESSION_COOKIE, { path: "/" });
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });
  return router;
}

/** express-session's callback API as a promise. */
function settle(fn: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    fn((err) => (err ? reject(err instanceof Error ? err : new Error("session store error")) : resolve())),
  );
}
