/**
 * Clients on real sockets: REST calls with a session cookie, and agent/browser WebSockets
 * (package `ws`) wrapped in a {@link TestSocket} whose `next()` awaits frames with a deadline.
 * Frames are not validated here: tests assert on them (or parse them with the protocol schemas).
 * Predicates see a loose {@link Frame}; `next("host_update")` returns the protocol's type for it.
 */
import type { IncomingMessage } from "node:http";
import type { Host, HubToAgent, HubToBrowser, RegisterFrame } from "@tether/protocol";
import WebSocket from "ws";
import { request, type HttpResponse } from "./http";
import { DEFAULT_FRAME_TIMEOUT_MS, TestSocket } from "./test-socket";
import { withTimeout } from "./wait";

export * from "./test-socket";
export { request, type HttpResponse, type RequestOptions } from "./http";

// ---------------------------------------------------------------------------------------------
// REST

/** Name of the session cookie (CONTRACT §2). */
export const SESSION_COOKIE = "tether.sid";

/**
 * A REST call as a logged-in browser on `apiUrl` would make it: `Origin: apiUrl`, the session
 * cookie when given, JSON body. Resolves with any status.
 */
export function apiCall(apiUrl: string, cookie: string | undefined, method: string, path: string, body?: unknown): Promise<HttpResponse> {
  const headers: Record<string, string> = { Origin: new URL(apiUrl).origin, Accept: "application/json" };
  if (cookie) headers.Cookie = cookie;
  return request(new URL(path, apiUrl).toString(), { method, headers, body });
}

/** Logs in (`POST /api/session`) and returns the `tether.sid=…` cookie pair; throws unless 200. */
export async function login(apiUrl: string, username: string, password: string): Promise<string> {
  const res = await apiCall(apiUrl, undefined, "POST", "/api/session", { username, password });
  if (res.status !== 200) throw new Error(`login as ${username} on ${apiUrl}: expected 200, got ${res.status} ${res.text.slice(0, 300)}`);
  const cookie = sessionCookieFrom(res);
  if (!cookie)
    throw new Error(`login as ${username}: no ${SESSION_COOKIE} cookie in Set-Cookie ${JSON.stringify(res.headers["set-cookie"])}`);
  return cookie;
}

/** The `tether.sid=…` pair from a response's Set-Cookie headers, without attributes. */
export function sessionCookieFrom(res: HttpResponse): string | undefined {
  for (const header of res.headers["set-cookie"] ?? []) {
    const pair = header.split(";")[0]!.trim();
    if (pair.startsWith(`${SESSION_COOKIE}=`)) return pair;
  }
  return undefined;
}

/** `POST /api/hosts {name}`: the new host and its token (shown only here); throws unless 201. */
export async function createHost(apiUrl: string, cookie: string, name: string): Promise<{ host: Host; token: string }> {
  const res = await apiCall(apiUrl, cookie, "POST", "/api/hosts", { name });
  if (res.status !== 201) throw new Error(`create host ${name}: expected 201, got ${res.status} ${res.text.slice(0, 300)}`);
  return res.json<{ host: Host; token: string }>();
}

// ---------------------------------------------------------------------------------------------
// WebSockets

/** An agent's socket: frames from the hub to an agent. */
export type AgentSocket = TestSocket<HubToAgent>;
/** A browser's socket: frames from the hub to a browser. */
export type BrowserSocket = TestSocket<HubToBrowser>;
/** Any test socket (loose frames; `next` by predicate). */
export type FrameClient = TestSocket<HubToAgent | HubToBrowser>;

/** The upgrade was answered with an HTTP status instead of 101. */
export class UpgradeRejectedError extends Error {
  override readonly name = "UpgradeRejectedError";
  constructor(
    readonly status: number,
    readonly body: string,
    url: string,
  ) {
    super(`WebSocket upgrade to ${url} rejected with HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

/** Options of {@link connectBrowser}. */
export interface BrowserOptions {
  /** `Origin` header; default the WebSocket URL's own http origin. `null` sends none. */
  origin?: string | null;
  /** Resume after this event id (`?after=`). */
  after?: string;
  timeoutMs?: number;
  /**
   * Without `after`, resolve only once the hub's first frame (the `hosts` snapshot) or its close
   * has arrived (default true): an event the test causes later is then a `host_update`, never
   * folded into a snapshot still being read. `false` resolves at the upgrade.
   */
  awaitSnapshot?: boolean;
}

/** An agent socket: `Authorization: Bearer <token>`. Resolves once open; rejects with {@link UpgradeRejectedError}. */
export function connectAgent(wsUrl: string, token: string, options: { timeoutMs?: number } = {}): Promise<AgentSocket> {
  return openSocket<HubToAgent>(wsUrl, { Authorization: `Bearer ${token}` }, "agent", options.timeoutMs);
}

/** Connects an agent, sends `register` and awaits `registered`. */
export async function connectRegisteredAgent(
  wsUrl: string,
  token: string,
  register: RegisterFrame["payload"] = { hostname: "test-host" },
  timeoutMs = DEFAULT_FRAME_TIMEOUT_MS,
): Promise<{ agent: AgentSocket; hostId: string }> {
  const agent = await connectAgent(wsUrl, token, { timeoutMs });
  agent.send({ type: "register", payload: register });
  const registered = await agent.next("registered", timeoutMs);
  return { agent, hostId: registered.payload.host_id };
}

/** A browser socket: the session cookie and an `Origin`. Resolves once open; rejects with {@link UpgradeRejectedError}. */
export function connectBrowser(wsUrl: string, cookie: string, options: BrowserOptions = {}): Promise<BrowserSocket> {
  const url = new URL(wsUrl);
  if (options.after !== undefined) url.searchParams.set("after", options.after);
  const headers: Record<string, string> = { Cookie: cookie };
  const origin = options.origin === undefined ? httpOrigin(wsUrl) : options.origin;
  if (origin !== null) headers.Origin = origin;
  const opened = openSocket<HubToBrowser>(url.toString(), headers, "browser", options.timeoutMs);
  if (options.after !== undefined || options.awaitSnapshot === false) return opened;
  return opened.then(async (socket) => {
    await withTimeout(
      socket.settled,
      options.timeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      () => `browser ${wsUrl}: no snapshot after the upgrade`,
    );
    return socket;
  });
}

/**
 * The HTTP status the upgrade gets: 101 when it succeeds (the socket is closed again at once),
 * else the rejection's status (401, 403, …).
 */
export async function expectUpgradeStatus(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = DEFAULT_FRAME_TIMEOUT_MS,
): Promise<number> {
  try {
    const socket = await openSocket<never>(url, headers, "probe", timeoutMs);
    await socket.close();
    return 101;
  } catch (err) {
    if (err instanceof UpgradeRejectedError) return err.status;
    throw err;
  }
}

function httpOrigin(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return url.origin;
}

async function openSocket<In extends { type: string; payload: unknown }>(
  url: string,
  headers: Record<string, string>,
  label: string,
  timeoutMs = DEFAULT_FRAME_TIMEOUT_MS,
): Promise<TestSocket<In>> {
  const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
  // Listen for frames before 'open': the hub may send its first frame right after the upgrade.
  const socket = new TestSocket<In>(ws, `${label} ${url}`);
  const opened = new Promise<TestSocket<In>>((resolve, reject) => {
    ws.once("open", () => resolve(socket));
    ws.once("unexpected-response", (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        reject(new UpgradeRejectedError(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"), url));
        ws.terminate();
      });
      res.on("error", () => reject(new UpgradeRejectedError(res.statusCode ?? 0, "", url)));
    });
    ws.once("error", (err) => reject(new Error(`WebSocket ${url}: ${err.message}`)));
  });
  try {
    return await withTimeout(opened, timeoutMs, () => `WebSocket ${url} did not open`);
  } catch (err) {
    ws.terminate();
    throw err;
  }
}
