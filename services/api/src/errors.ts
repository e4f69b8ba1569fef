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

/** The one place errors become responses: `{error: {code, message}}`. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof HttpError) {
    // CONTRACT §4 spells this one out exactly: 403 {"error":"forbidden"}.
    if (err.status === 403 && err.code === "forbidden") res.status(403).json({ error: "forbidden" });
    else res.status(err.status).json({ error: { code: err.code, message: err.message } });
    return;
  }
  // body-parser: bad JSON or a body over the limit.
  const status = (err as { status?: number }).status;
  const type = (err as { type?: string }).type;
  if (status === 413 || type === "entity.too.large") {
    res.status(413).json({ error: { code: "too_large", message: "request body too large" } });
    return;
  }
  if (status === 400 && type === "entity.parse.failed") {
    res.status(400).json({ error: { code: "invalid_json", message: "body: not valid JSON" } });
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
