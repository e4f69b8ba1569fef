import type { RequestHandler } from "express";
import type { User } from "@tether/protocol";
import { principalForApiToken, principalForUser, type ApiTokenStore, type Clock, type Principal, type UserStore } from "@tether/core";
import { HttpError } from "../errors";

declare module "express-session" {
  interface SessionData {
    /** Who logged in; rights are read from the user's record on every request, never from here. */
    user: Pick<User, "id" | "username">;
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
 * An agent token is not an API token and gets 401 here.
 */
export function authenticate(deps: { users: UserStore; apiTokens: ApiTokenStore; clock: Clock }): RequestHandler {
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
      const userId = req.session?.user?.id;
      const principal = userId ? await principalForUser(deps.users, userId) : null;
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
