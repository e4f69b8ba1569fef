import http, { type IncomingHttpHeaders } from "node:http";
import { withTimeout } from "./wait";

/** A fully read HTTP response. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text. */
  text: string;
  /** The body parsed as JSON (throws with the text when it is not JSON). */
  json<T = unknown>(): T;
}

/** Options of {@link request}. */
export interface RequestOptions {
  /** Default `GET`. */
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON with `Content-Type: application/json` unless it is a string. */
  body?: unknown;
  /** Whole request, in ms; default 10 000. */
  timeoutMs?: number;
}

/**
 * One HTTP request on its own connection (no keep-alive agent, so nothing stays open after a
 * test). Resolves with any status; only network errors and timeouts reject.
 */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const { method = "GET", headers = {}, body, timeoutMs = 10_000 } = options;
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const allHeaders: Record<string, string> = { ...headers };
  if (payload !== undefined && typeof body !== "string" && !hasHeader(allHeaders, "content-type")) {
    allHeaders["Content-Type"] = "application/json";
  }
  let req: http.ClientRequest | undefined;
  const done = new Promise<HttpResponse>((resolve, reject) => {
    req = http.request(url, { method, headers: allHeaders, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json<T>() {
            try {
              return JSON.parse(text) as T;
            } catch {
              throw new Error(`${method} ${url} → ${res.statusCode}: body is not JSON: ${text.slice(0, 500)}`);
            }
          },
        });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
  return withTimeout(done, timeoutMs, () => `${method} ${url} got no complete response`).catch((err: unknown) => {
    req?.destroy();
    throw err;
  });
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
