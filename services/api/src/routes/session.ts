import { Router } from "express";
import type { Redis } from "ioredis";
import { LoginBodySchema } from "@tether/protocol";
import { SESSION_COOKIE, type ControlMessage, type Keys } from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { requireSession } from "../middleware/session";
import { HashGate } from "../login/hash-gate";
import { loginLimits } from "../login/limits";
import type { UserStore } from "../users";

export interface SessionRoutesDeps {
  redis: Redis;
  keys: Keys;
  users: UserStore;
  nodeId: string;
  /** Failed logins per client address per minute (LOGIN_RATE_LIMIT). */
  loginLimit: number;
  /** Failed logins per username per minute, past which only clean addresses may try it (LOGIN_USER_RATE_LIMIT). */
  loginUserLimit: number;
  /** Password hashes at once (LOGIN_MAX_HASHES) and logins waiting for one (LOGIN_MAX_WAITING). */
  hashes: { max: number; maxWaiting: number };
}

/** `POST/GET/DELETE /api/session` (CONTRACT §2). */
export function sessionRoutes(deps: SessionRoutesDeps): Router {
  const router = Router();
  const limits = loginLimits({ redis: deps.redis, keys: deps.keys, perAddress: deps.loginLimit, perUsername: deps.loginUserLimit });
  const gate = new HashGate(deps.hashes.max, deps.hashes.maxWaiting);

  router.post("/", ...limits, async (req, res, next) => {
    try {
      const body = parseOr400(LoginBodySchema, req.body);
      const verified = await gate.run(() => deps.users.verify(body.username, body.password));
      if (!verified) {
        res.setHeader("Retry-After", "1");
        throw new HttpError(503, "busy", "too many logins at once, try again in a second");
      }
      const user = verified.value;
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
