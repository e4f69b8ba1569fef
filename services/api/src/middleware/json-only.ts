import type { RequestHandler } from "express";
import { HttpError } from "../errors";

/**
 * Every body the API takes is JSON. A body of another type would reach the routes as `undefined`
 * and be refused as a missing field; say what is wrong instead (415). Calls without a body
 * (cancel, delete, rotate: `Content-Length: 0` or none) pass whatever their Content-Type.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = Number(req.headers["content-length"] ?? 0);
  const hasBody = req.headers["transfer-encoding"] !== undefined || length > 0;
  if (!hasBody || req.is("application/json")) return next();
  next(new HttpError(415, "unsupported_media_type", "Content-Type: must be application/json"));
};
