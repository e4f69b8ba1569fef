import type { IncomingMessage } from "node:http";

/**
 * Is this request's Origin allowed? With ALLOWED_ORIGINS set, exactly those; otherwise only the
 * process's own origin, i.e. the Origin's host equals the Host the request was sent to
 * (`X-Forwarded-Host` when TRUST_PROXY). A missing Origin is never allowed.
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[], trustProxy: boolean): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === "null") return false;
  if (allowed.length > 0) return allowed.includes(origin.replace(/\/$/, ""));
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const forwarded = trustProxy ? firstHeader(req.headers["x-forwarded-host"]) : undefined;
  const host = forwarded ?? req.headers.host;
  return host !== undefined && originHost.toLowerCase() === host.toLowerCase();
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(",")[0]?.trim() || undefined;
}
