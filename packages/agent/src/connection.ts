import { z } from "zod";
import { CloseCode, HubToAgentSchema, type AgentToHub, type HubToAgent } from "@tether/protocol";
import WebSocket from "ws";
import { createBackoff } from "./backoff";
import type { Clock } from "./clock";
import type { Log } from "./log";

type RegisterPayload = Extract<AgentToHub, { type: "register" }>["payload"];
/** Hub frames the agent acts on; `registered` is handled here. */
export type HubCommandFrame = Exclude<HubToAgent, { type: "registered" }>;

/** Exit codes of a connection that must not be retried (documented in --help and the README). */
export const ExitCode = { OK: 0, ERROR: 1, BAD_OPTION: 2, CREDENTIALS: 3, REPLACED: 4 } as const;

export interface ConnectionOptions {
  /**
   * Hub URLs (at least one). The first is tried at start; every reconnect moves on to the next
   * one, round-robin, after the usual backoff: with several hub nodes and no load balancer, a
   * dead node costs one failed attempt, not an outage.
   */
  urls: readonly string[];
  token: string;
  maxMessageBytes: number;
  /** The hub's ping interval; 2.5× without a ping means the link is dead. */
  pingIntervalMs: number;
  clock: Clock;
  log: Log;
  random?: () => number;
  /** The `register` payload, built fresh for every (re)connect. */
  register: () => RegisterPayload;
  /** `registered` arrived: frames may flow. */
  onReady: (hostId: string) => void;
  onFrame: (frame: HubCommandFrame) => void;
  onPing: () => void;
  /** The socket is gone (a reconnect may follow). */
  onDown: () => void;
  /** Never reconnect: the agent should exit with this code. */
  onFatal: (exitCode: number, message: string) => void;
}

/** One WebSocket to the hub at a time, kept up with backoff until {@link Connection.close}. */
export interface Connection {
  start(): void;
  /** Sends a frame if registered; `cb` runs once it is written to the socket. */
  send(frame: AgentToHub, cb?: (err?: Error) => void): boolean;
  readonly ready: boolean;
  /** Bytes queued in the socket, for backpressure. */
  readonly bufferedAmount: number;
  /** Drops the socket and reconnects (with backoff), so unconfirmed frames are resent. */
  reconnect(reason: string): void;
  /** Closes with 1000 and stops reconnecting; resolves once the socket is closed. */
  close(): Promise<void>;
}

/** A connection that lived this long proved the hub healthy: the backoff starts over. */
const HEALTHY_MS = 10_000;
/** 1001 (hub shutting down): reconnect at once, spread over this window. */
const GOING_AWAY_JITTER_MS = 1_000;
const CLOSE_WAIT_MS = 2_000;

/** Logs the URL without any userinfo someone may have put in it. */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Creates the connection; nothing happens before `start()`. */
export function createConnection(options: ConnectionOptions): Connection {
  const { clock, log } = options;
  const random = options.random ?? Math.random;
  const backoff = createBackoff({ baseMs: 500, capMs: 30_000, random });
  if (options.urls.length === 0) throw new Error("createConnection: no hub URL");
  /** Index in `options.urls` of the next attempt. */
  let next = 0;
  let ws: WebSocket | undefined;
  let ready = false;
  let closing = false;
  let fatal = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let registerTimer: NodeJS.Timeout | undefined;
  const closeWaiters: (() => void)[] = [];

  const deadAfter = Math.round(options.pingIntervalMs * 2.5);
  const arm = (socket: WebSocket) => {
    clock.clearTimeout(watchdog);
    watchdog = clock.setTimeout(() => {
      log.warn("link_dead", { reason: "no ping from hub", waited_ms: deadAfter });
      socket.terminate();
    }, deadAfter);
  };

  const connect = () => {
    reconnectTimer = undefined;
    const target = options.urls[next]!;
    // Round-robin: whatever happens to this attempt, the one after it goes to the next URL.
    next = (next + 1) % options.urls.length;
    const url = safeUrl(target);
    log.info("connecting", { url, attempt: backoff.attempt + 1 });
    let httpStatus: number | undefined;
    let retryAfterMs = 0;
    let openedAt: number | undefined;
    const socket = new WebSocket(target, {
      headers: { Authorization: `Bearer ${options.token}` },
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false, // not worth a zlib context per agent; the hub does not offer it
      handshakeTimeout: 15_000,
    });
    ws = socket;
    socket.on("unexpected-response", (_req, res) => {
      httpStatus = res.statusCode;
      retryAfterMs = retryAfter(res.headers["retry-after"]);
      res.resume();
      socket.terminate();
    });
    socket.on("open", () => {
      openedAt = clock.now();
      log.info("connected", { url });
      arm(socket);
      registerTimer = clock.setTimeout(() => {
        log.warn("register_timeout", { waited_ms: deadAfter });
        socket.terminate();
      }, deadAfter);
      socket.send(JSON.stringify({ type: "register", payload: options.register() }));
    });
    socket.on("ping", () => {
      arm(socket);
      options.onPing();
    });
    socket.on("message", (data, isBinary) => {
      let frame: HubToAgent;
      try {
        frame = HubToAgentSchema.parse(JSON.parse(isBinary ? "" : rawText(data)));
      } catch {
        log.warn("invalid_frame", { bytes: (data as Buffer).length });
        return;
      }
      if (frame.type === "registered") {
        clock.clearTimeout(registerTimer);
        ready = true;
        log.info("registered", { host_id: frame.payload.host_id });
        options.onReady(frame.payload.host_id);
      } else {
        options.onFrame(frame);
      }
    });
    socket.on("error", (err) => log.warn("socket_error", { error: err.message }));
    socket.on("close", (code, reasonBuf) => {
      clock.clearTimeout(watchdog);
      clock.clearTimeout(registerTimer);
      ws = undefined;
      ready = false;
      options.onDown();
      if (closing) {
        log.info("disconnected", { code });
        closeWaiters.splice(0).forEach((resolve) => resolve());
        return;
      }
      const reason = reasonBuf.toString();
      if (httpStatus === 401 || code === CloseCode.REVOKED || code === CloseCode.REPLACED) {
        fatal = true;
        const message =
          httpStatus === 401
            ? "token rejected (HTTP 401); not reconnecting"
            : code === CloseCode.REVOKED
              ? "credentials revoked or rotated (close 4401); not reconnecting"
              : "replaced by a newer agent with the same token (close 4001); not reconnecting";
        log.error("fatal", { message, code: httpStatus ? undefined : code, http_status: httpStatus });
        options.onFatal(code === CloseCode.REPLACED ? ExitCode.REPLACED : ExitCode.CREDENTIALS, message);
        return;
      }
      if (code === CloseCode.MESSAGE_TOO_BIG) {
        // Retrying resends the same frame: only a config change helps, so say which one.
        log.error("frame_too_big", {
          message: "the hub closed with 1009: a frame exceeded its MAX_MESSAGE_BYTES; set --max-message-bytes to the hub's value",
        });
      }
      if (openedAt !== undefined && clock.now() - openedAt > HEALTHY_MS) backoff.reset();
      // A hub that turned the handshake away (503, too many at once) may say when to come back.
      const delay = code === CloseCode.GOING_AWAY ? Math.floor(random() * GOING_AWAY_JITTER_MS) : Math.max(backoff.next(), retryAfterMs);
      log.warn("disconnected", { code, reason: reason || undefined, http_status: httpStatus, retry_in_ms: delay });
      reconnectTimer = clock.setTimeout(connect, delay);
    });
  };

  return {
    start: connect,
    send(frame, cb) {
      if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(frame), cb);
      return true;
    },
    reconnect(reason) {
      if (!ws || closing) return;
      log.warn("reconnecting", { reason });
      ws.terminate();
    },
    get ready() {
      return ready;
    },
    get bufferedAmount() {
      return ws?.bufferedAmount ?? 0;
    },
    async close() {
      closing = true;
      clock.clearTimeout(reconnectTimer);
      const socket = ws;
      if (!socket || fatal) return;
      const closed = new Promise<void>((resolve) => closeWaiters.push(resolve));
      socket.close(CloseCode.NORMAL, "agent stopping");
      const timer = clock.setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
      await closed;
      clock.clearTimeout(timer);
    },
  };
}

/** The text of a ws message (a Buffer unless binaryType was changed). */
function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(new Uint8Array(data)).toString("utf8");
}

/** `Retry-After` in seconds (the only form a hub sends), as ms; absent or anything else → 0. */
const RetryAfterSchema = z.coerce.number().int().min(0).max(3600);
function retryAfter(header: string | undefined): number {
  const parsed = RetryAfterSchema.safeParse(header ?? "");
  return parsed.success ? parsed.data * 1000 : 0;
}
