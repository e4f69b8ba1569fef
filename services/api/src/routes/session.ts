import { Router, type RequestHandler } from "express";
import type { Redis } from "ioredis";
import { ChangePasswordBodySchema, LoginBodySchema } from "@tether/protocol";
import {
  SESSION_COOKIE,
  actorOf,
  publicUser,
  sealSession,
  type AuditLog,
  type ControlMessage,
  type GlobalKeys,
  publish,
  type RecordMacs,
  type UserStore,
} from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { HashGate } from "../login/hash-gate";
import { loginLimits } from "../login/limits";
import { allowOrThrow } from "../access";
import { principalOf } from "../middleware/auth";

export interface SessionRoutesDeps {
  redis: Redis;
  keys: GlobalKeys;
  users: UserStore;
  /** Seals the session's user to its id at login (issue 13.3). */
  macs: RecordMacs;
  audit: AuditLog;
  nodeId: string;
  /** Failed logins per client address per minute (LOGIN_RATE_LIMIT). */
  loginLimit: number;
  /** Failed logins per username per minute, past which only clean addresses may try it (LOGIN_USER_RATE_LIMIT). */
  loginUserLimit: number;
  /** Password hashes at once (LOGIN_MAX_HASHES) and logins waiting for one (LOGIN_MAX_WAITING). */
  hashes: { max: number; maxWaiting: number };
  /** Authenticates the calls other than login (session or API token). */
  authenticate: RequestHandler;
}

/** `POST/GET/DELETE /api/session` (CONTRACT §2) and `POST /api/session/password` (§4). */
export function sessionRoutes(deps: SessionRoutesDeps): Router {
  const router = Router();
  const limits = loginLimits({ redis: deps.redis, keys: deps.keys, perAddress: deps.loginLimit, perUsername: deps.loginUserLimit });
  const gate = new HashGate(deps.hashes.max, deps.hashes.maxWaiting);

  router.post("/", ...limits, async (req, res) => {
    const body = parseOr400(LoginBodySchema, req.body);
    const verified = await gate.run(() => deps.users.verify(body.username, body.password));
    if (!verified) {
      res.setHeader("Retry-After", "1");
      throw new HttpError(503, "busy", "too many logins at once, try again in a second");
    }
    const stored = verified.value;
    if (!stored) {
      // The username tried and where from; never the password.
      await deps.audit.append({
        actor: { type: "system", id: "anonymous", name: "anonymous" },
        action: "session.login_failed",
        detail: { username: body.username, address: req.ip ?? "" },
      });
      throw new HttpError(401, "bad_credentials", "wrong username or password");
    }
    // A new session id on login: a session fixed before login is worth nothing.
    await settle((cb) => req.session.regenerate(cb));
    const sealed = sealSession(deps.macs, req.sessionID, stored);
    req.session.user = sealed.user;
    req.session.mac = sealed.mac;
    await settle((cb) => req.session.save(cb));
    await deps.audit.append({
      actor: { type: "user", id: stored.id, name: stored.username },
      action: "session.login",
      detail: { address: req.ip ?? "" },
    });
    res.json({ user: publicUser(stored) });
  });

  router.get("/", deps.authenticate, async (req, res) => {
    const p = principalOf(req);
    const user = await deps.users.get(p.userId);
    if (!user) throw new HttpError(401, "unauthenticated", "log in first");
    // With an API token: its owner, with the token's effective rights (addition: `via_token`).
    res.json(p.type === "user" ? { user } : { user: { ...user, role: p.role, teams: p.teams }, via_token: { id: p.id, name: p.name } });
  });

  router.delete("/", deps.authenticate, async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "session.own");
    const sid = req.sessionID;
    await settle((cb) => req.session.destroy(cb));
    // Open sockets of this session, on whichever hub, close with 4401.
    const msg: ControlMessage = { kind: "session_revoked", node: deps.nodeId, sid };
    await publish(deps.redis, deps.keys.controlChannel, JSON.stringify(msg));
    await deps.audit.append({ actor: actorOf(p), action: "session.logout" });
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.status(204).end();
  });

  router.post("/password", deps.authenticate, async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "session.own");
    const body = parseOr400(ChangePasswordBodySchema, req.body);
    const stored = await deps.users.readRecord(p.userId);
    if (!(await deps.users.checkPassword(stored, body.current))) {
      throw new HttpError(400, "bad_credentials", "current: wrong password");
    }
    const out = await deps.users.update(p.userId, { password: body.password });
    if (out.result !== "ok") throw new HttpError(401, "unauthenticated", "log in first");
    await deps.audit.append({
      actor: actorOf(p),
      action: "session.password_changed",
      target: { type: "user", id: p.userId, name: p.name },
    });
    res.status(204).end();
  });
  return router;
}

/** express-session's callback API as a promise. */
function settle(fn: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    fn((err) => (err ? reject(err instanceof Error ? err : new Error("session store error")) : resolve())),
  );
}
