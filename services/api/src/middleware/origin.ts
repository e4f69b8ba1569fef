import type { RequestHandler } from "express";
import { isOriginAllowed } from "@tether/core";
import { HttpError } from "../errors";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Mutating calls need an allowed Origin (CONTRACT §2); checked before the session. */
export function requireOrigin(allowed: readonly string[], trustProxy: boolean): RequestHandler {
  return (req, _res, next) => {
    if (SAFE.has(req.method) || isOriginAllowed(req, allowed, trustProxy)) return next();
    next(new HttpError(403, "forbidden_origin", req.headers.origin ? "origin not allowed" : "Origin header required"));
  };
}
