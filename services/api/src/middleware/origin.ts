import type { RequestHandler } from "express";
import { isOriginAllowed } from "@tether/core";
import { HttpError } from "../errors";
import { hasAuthorization } from "./auth";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Mutating calls need an allowed Origin (CONTRACT §2); checked before the session. A call with
 * `Authorization` (an API token, §4) needs none: it does not ride on a cookie a foreign page
 * could make the browser send, and the cookie is then ignored.
 */
export function requireOrigin(allowed: readonly string[], trustProxy: boolean): RequestHandler {
  return (req, _res, next) => {
    if (SAFE.has(req.method) || hasAuthorization(req.headers) || isOriginAllowed(req, allowed, trustProxy)) return next();
    next(new HttpError(403, "forbidden_origin", req.headers.origin ? "origin not allowed" : "Origin header required"));
  };
}
