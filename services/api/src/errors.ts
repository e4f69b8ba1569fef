import type { ErrorRequestHandler } from "express";
import { ZodError, type z } from "zod";

/** An error with an HTTP status and a stable code; mapped once, by `errorHandler`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parse `input` with `schema` or throw a 400 whose message names the field. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  throw badRequest(res.error);
}

function badRequest(err: ZodError): HttpError {
  const issue = err.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  return new HttpError(400, "invalid_request", `${field}: ${issue?.message ?? "invalid"}`);
}

/**
 * Errors raised before a route runs, by Express's router (a path parameter that is not valid
 * percent-encoding) and by body-parser (bad JSON, a body over the limit, a corrupt gzip/deflate
 * stream, an unknown encoding or charset). They carry their own 4xx `status`; these are their
 * stable codes. The messages are ours, never the library's (which may quote the input).
 */
const PARSER_ERRORS: Record<string, { code: string; message: string }> = {
  "entity.too.large": { code: "too_large", message: "request body too large" },
  "entity.parse.failed": { code: "invalid_json", message: "body: not valid JSON" },
  "encoding.unsupported": { code: "unsupported_encoding", message: "Content-Encoding: not supported (identity, gzip, deflate, br)" },
  "charset.unsupported": { code: "unsupported_charset", message: "Content-Type: charset not supported (utf-8)" },
  "request.aborted": { code: "aborted", message: "request aborted" },
  "request.size.invalid": { code: "invalid_body", message: "body: length does not match Content-Length" },
  "stream.encoding.set": { code: "invalid_body", message: "body: could not be read" },
};

/** A client error raised by a library, as `{status, code, message}`; null for anything else. */
export function clientError(err: unknown): { status: number; code: string; message: string } | null {
  if (typeof err !== "object" || err === null) return null;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; code?: unknown };
  const status = typeof e.status === "number" ? e.status : typeof e.statusCode === "number" ? e.statusCode : NaN;
  if (!(status >= 400 && status < 500)) return null;
  const known = typeof e.type === "string" ? PARSER_ERRORS[e.type] : undefined;
  if (known) return { status, ...known };
  if (err instanceof URIError) return { status: 400, code: "invalid_path", message: "path: malformed percent-encoding" };
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR, …) from inflating a gzip/deflate/br body.
  if (typeof e.code === "string" && e.code.startsWith("Z_")) {
    return { status: 400, code: "invalid_body", message: "body: not a valid compressed stream" };
  }
  return { status, code: "bad_request", message: "bad request" };
}

/**
 * Redis (or BullMQ through it) could not be reached or would not take the write: no primary yet
 * after a failover (READONLY from a demoted node, MASTERDOWN), a server still loading its data, a
 * connection closed or refused, retries used up. The request may succeed in a moment: 503, not 500.
 */
export function storeUnavailable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  if (e.name === "MaxRetriesPerRequestError") return true;
  if (typeof e.code === "string" && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTCONN)$/.test(e.code)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  return /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|BUSY)\b|Connection is closed|Stream isn't writeable|connect ECONNREFUSED|redis not ready/.test(
    message,
  );
}

/** The one place errors become responses: `{error: {code, message}}`. Only our own faults are 500s. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof HttpError) {
    // CONTRACT §4 spells this one out exactly: 403 {"error":"forbidden"}.
    if (err.status === 403 && err.code === "forbidden") res.status(403).json({ error: "forbidden" });
    else res.status(err.status).json({ error: { code: err.code, message: err.message } });
    return;
  }
  const client = clientError(err);
  if (client) {
    res.status(client.status).json({ error: { code: client.code, message: client.message } });
    return;
  }
  if (storeUnavailable(err)) {
    req.log?.warn({ err: (err as Error).message }, "request failed: store unavailable");
    res.setHeader("Retry-After", "1");
    res.status(503).json({ error: { code: "unavailable", message: "the store is unavailable, retry shortly" } });
    return;
  }
  req.log?.error({ err: (err as Error).message }, "request failed");
  res.status(500).json({ error: { code: "internal", message: "internal error" } });
};

declare module "express-serve-static-core" {
  interface Request {
    log?: import("@tether/core").Logger;
  }
}
