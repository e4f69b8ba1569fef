import type { RequestHandler } from "express";
import type { User } from "@tether/protocol";
import {
  principalForApiToken,
  principalForUser,
  verifiedSessionUser,
  type ApiTokenStore,
  type Clock,
  type Principal,
  type RecordMacs,
  type UserStore,
} from "@tether/core";
import { HttpError } from "../errors";

declare module "express-session" {
  interface SessionData {
    /** Who logged in; rights are read from the user's record on every request, never from here. */
    user: Pick<User, "id" | "username">;
    /** MAC binding `user` to this session's id (issue 13.3; `sealSession`): without it, logged out. */
    mac: string;
  }
}

declare module "express-serve-static-core" {
  interface Request {
    /** Who is asking (set by {@link authenticate}). */
    principal?: Principal;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/=]{1,512})$/;

/** Does this request authenticate with `Authorization` (an API token) rather than the cookie? */
export function hasAuthorization(headers: { authorization?: string | undefined }): boolean {
  return headers.authorization !== undefined;
}

/**
 * Every `/api/*` call but login: an API token (`Authorization: Bearer`, CONTRACT §4; the cookie
 * is then ignored) or the session cookie. Either way the rights are looked up now, so a deleted
 * user, a revoked or expired token, or a demoted owner takes effect on the very next request.
 * An agent token is not an API token and gets 401 here. A session, token or user record whose MAC
 * does not hold (written in Redis by hand, issue 13.3) is absent: the same 401 as none.
 */
export function authenticate(deps: { users: UserStore; apiTokens: ApiTokenStore; clock: Clock; macs: RecordMacs }): RequestHandler {
  return (req, _res, next) => {
    void (async () => {
      const header = req.headers.authorization;
      if (header !== undefined) {
        const m = BEARER.exec(header);
        const principal = m ? await principalForApiToken(deps.apiTokens, deps.users, m[1]!, deps.clock.now()) : null;
        if (!principal) throw new HttpError(401, "unauthenticated", "unknown, revoked or expired API token");
        req.principal = principal;
        return;
      }
      const data = req.session?.user ? { user: req.session.user, mac: req.session.mac } : null;
      const user = data ? verifiedSessionUser(deps.macs, req.sessionID, data) : null;
      const principal = user ? await principalForUser(deps.users, user.id) : null;
      if (!principal) throw new HttpError(401, "unauthenticated", "log in first");
      req.principal = principal;
    })().then(() => next(), next);
  };
}

/** The principal of an authenticated request. */
export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new HttpError(401, "unauthenticated", "log in first");
  return req.principal;
}
