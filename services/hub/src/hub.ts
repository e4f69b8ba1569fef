import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CloseCode } from "@tether/protocol";
import {
  AuditLog,
  QueueName,
  createCommandSigner,
  createStores,
  queuePrefix,
  LogReader,
  type Clock,
  type Config,
  type Logger,
  type DispatchJob,
  type Metrics,
  type OfflineCheckJob,
} from "@tether/core";
import { authenticate } from "./upgrade/authenticate";
import { HandshakeGate } from "./upgrade/gate";
import { Agents } from "./connections/agents";
import { Browsers } from "./connections/browsers";
import { Subscriptions, channelsOf } from "./subscriptions";
import { Liveness } from "./presence";
import { CommandRelay } from "./commands/command-relay";
import { SessionWatch } from "./connections/session-watch";

/** The WebSocket path (CONTRACT §3). */
export const WS_PATH = "/ws";

export interface HubDeps {
  config: Pick<
    Config,
    | "REDIS_PREFIX"
    | "NODE_ID"
    | "SESSION_SECRET"
    | "ALLOWED_ORIGINS"
    | "TRUST_PROXY"
    | "PING_INTERVAL_MS"
    | "AGENT_FRAMES_PER_SEC"
    | "REGISTER_GRACE_MS"
    | "BROWSER_FRAMES_PER_SEC"
    | "OFFLINE_TIMEOUT_MS"
    | "MAX_MESSAGE_BYTES"
    | "MAX_BUFFERED_BYTES"
    | "HUB_TTL_MS"
    | "LOG_MAX_LEN"
    | "MAX_PENDING_HANDSHAKES"
    | "AUDIT_MAX_AGE_MS"
    | "MAX_OUTPUT_BYTES_PER_COMMAND"
    | "OUTPUT_MAX_AGE_MS"
    | "CANCEL_TIMEOUT_MS"
    | "MAX_SOCKETS_PER_SESSION"
    | "COMMAND_TTL_MS"
    | "commandSigningKey"
    | "previousSigningKeys"
  >;
  /** Connections owned by the caller: one for commands, one for Pub/Sub, one for BullMQ. */
  redis: { command: Redis; subscriber: Redis; bullmq: Redis };
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export interface Hub {
  /** Serve WebSocket upgrades on `server` at `/ws`. */
  attach(server: Server): void;
  /** Subscribe and announce this node; resolves when ready for traffic. */
  start(): Promise<void>;
  /** Close every socket with 1001 (clients move to another node) and let go of Redis state. */
  close(): Promise<void>;
  readonly stats: () => { agents: number; browsers: number };
}

/** A stateless hub node: terminates agent and browser sockets and relays through Redis. */
export function createHub(deps: HubDeps): Hub {
  const { config, redis, clock, log, metrics } = deps;
  const stores = createStores(redis.command, config, metrics, { clock, log });
  const { keys, logs, hosts, users } = stores;
  const audit = new AuditLog(redis.command, keys, config.AUDIT_MAX_AGE_MS, () => clock.now());
  const presenceQueue = new Queue<OfflineCheckJob>(QueueName.PRESENCE, {
    connection: redis.bullmq,
    prefix: queuePrefix(keys.bullPrefix, QueueName.PRESENCE, redis.bullmq),
  });
  presenceQueue.on("error", (err) => log.warn({ err: err.message }, "presence queue error"));
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.MAX_MESSAGE_BYTES, clientTracking: false });
  let shuttingDown = false;

  const dispatchQueue = new Queue<DispatchJob>(QueueName.COMMANDS, {
    connection: redis.bullmq,
    prefix: queuePrefix(keys.bullPrefix, QueueName.COMMANDS, redis.bullmq),
  });
  dispatchQueue.on("error", (err) => log.warn({ err: err.message }, "command queue error"));
  const commands = new CommandRelay({
    redis: redis.command,
    keys,
    hosts,
    commands: stores.commands,
    dispatchQueue,
    audit,
    clock,
    log,
    nodeId: config.NODE_ID,
    maxFrameBytes: config.MAX_MESSAGE_BYTES,
    cancelTimeoutMs: config.CANCEL_TIMEOUT_MS,
    commandTtlMs: config.COMMAND_TTL_MS,
    signer: createCommandSigner({
      privateKey: config.commandSigningKey,
      previous: config.previousSigningKeys,
      commandTtlMs: config.COMMAND_TTL_MS,
    }),
  });
  const browsers: Browsers = new Browsers({
    redis: redis.command,
    partitions: keys.all,
    users,
    reader: new LogReader(logs, keys.all, redis.command),
    clock,
    log,
    metrics,
    pingIntervalMs: config.PING_INTERVAL_MS,
    framesPerSec: config.BROWSER_FRAMES_PER_SEC,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    onFrame: (conn, frame) => commands.onBrowserFrame(conn, frame),
    sessions: { alive: (conn) => sessions.alive(conn), release: (sid, claim) => sessions.release(sid, claim) },
    events: { hold: () => subscriptions.holdEvents(), release: () => subscriptions.releaseEvents() },
  });
  const sessions: SessionWatch = new SessionWatch(
    redis.command,
    keys,
    config.NODE_ID,
    config.MAX_SOCKETS_PER_SESSION,
    clock,
    log,
    () => browsers.conns,
    (sid) => browsers.revokeSession(sid, "session expired or logged out"),
  );
  const subscriptions: Subscriptions = new Subscriptions(redis.subscriber, channelsOf(keys), log, {
    onEvent: (message, partition) => browsers.relay(message, partition),
    onControl: (msg) => {
      if (msg.kind === "session_revoked") browsers.revokeSession(msg.sid);
      else if (msg.kind === "user_changed") browsers.revokeUser(msg.user_id, CloseCode.RIGHTS_CHANGED);
      else browsers.revokeUser(msg.user_id, CloseCode.REVOKED);
    },
    onHost: (hostId, msg) => {
      const conn = agents.onHostMessage(hostId, msg);
      if (conn) commands.onHostMessage(conn, msg);
    },
    onResubscribed: () => {
      void browsers.backfill();
      commands.onResubscribed(agents.byHost.values());
    },
    onEventsDropped: () => browsers.eventsDropped(),
  });
  const agents: Agents = new Agents({
    redis: redis.command,
    keys,
    hosts,
    presenceQueue,
    subscriptions,
    clock,
    log,
    metrics,
    nodeId: config.NODE_ID,
    pingIntervalMs: config.PING_INTERVAL_MS,
    framesPerSec: config.AGENT_FRAMES_PER_SEC,
    registerGraceMs: config.REGISTER_GRACE_MS,
    offlineTimeoutMs: config.OFFLINE_TIMEOUT_MS,
    onCommandFrame: (conn, frame) => commands.onAgentFrame(conn, frame),
    onRegistered: (conn) => commands.onAgentRegistered(conn),
  });
  const liveness = new Liveness(redis.command, keys, config.NODE_ID, config.HUB_TTL_MS, clock, log, () =>
    [...agents.byHost.values()].filter((c) => c.epoch > 0 && !c.closed).map((c): [string, number] => [c.hostId, c.epoch]),
  );

  // Handshakes past the limit wait (the client just sees a slower 101); a queue ten times as
  // long is the most worth holding sockets for, past it they get 503 and retry with backoff.
  const gate = new HandshakeGate(config.MAX_PENDING_HANDSHAKES, config.MAX_PENDING_HANDSHAKES * 10, (n) =>
    metrics.handshakesWaiting.set(n),
  );

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== WS_PATH) return reject(socket, 404, "Not Found");
    if (shuttingDown) return reject(socket, 503, "Service Unavailable");
    const slot = gate.enter();
    if (!slot) {
      metrics.handshakesRefused.inc();
      return reject(socket, 503, "Service Unavailable", { "Retry-After": "1" });
    }
    const release = await slot;
    try {
      // Waited its turn: the client may have given up meanwhile, or the hub begun to shut down.
      if (socket.destroyed) return release();
      if (shuttingDown) {
        release();
        return reject(socket, 503, "Service Unavailable");
      }
      await upgrade(req, socket, head, url, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** One handshake in its slot: `release` once it is done (an agent: once it is online, or gone). */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, releaseSlot: () => void): Promise<void> {
    // Released when the handshake is done, or when the socket closes first; the close listener
    // goes with it (a held socket must not keep it for its whole life).
    const release = () => {
      socket.off("close", release);
      releaseSlot();
    };
    socket.once("close", release);
    let auth;
    try {
      auth = await authenticate(req, {
        redis: redis.command,
        keys,
        users,
        hosts,
        macs: stores.macs,
        sessionSecret: config.SESSION_SECRET,
        allowedOrigins: config.ALLOWED_ORIGINS,
        trustProxy: config.TRUST_PROXY,
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, "upgrade auth failed");
      release();
      return reject(socket, 503, "Service Unavailable");
    }
    if (!auth.ok) {
      log.debug({ status: auth.status, reason: auth.reason }, "upgrade rejected");
      release();
      return reject(socket, auth.status, auth.status === 401 ? "Unauthorized" : "Forbidden");
    }
    const principal = auth.principal;
    let claim = "";
    if (principal.kind === "browser") {
      // Counted across every hub before the upgrade: past MAX_SOCKETS_PER_SESSION → 429.
      claim = sessions.newClaim();
      let claimed;
      try {
        claimed = await sessions.claim(principal.sid, claim);
      } catch (err) {
        log.warn({ err: (err as Error).message }, "socket count failed");
        release();
        return reject(socket, 503, "Service Unavailable");
      }
      if (!claimed) {
        release();
        return reject(socket, 429, "Too Many Requests");
      }
      if (socket.destroyed) {
        sessions.release(principal.sid, claim);
        return release();
      }
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (principal.kind === "agent") void agents.accept(ws, principal.hostId, principal.tokenHash).ready.finally(release);
      else {
        browsers.accept(ws, principal.sid, claim, principal.principal, url.searchParams.get("after"));
        release();
      }
    });
  }

  return {
    attach(server) {
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on("error", destroySocket);
        void onUpgrade(req, socket, head);
      });
    },
    async start() {
      await subscriptions.start();
      await liveness.start();
      sessions.start();
      log.info("hub ready");
    },
    async close() {
      shuttingDown = true;
      sessions.stop();
      await agents.handOver();
      agents.closeAll(CloseCode.GOING_AWAY, "hub shutting down");
      browsers.closeAll(CloseCode.GOING_AWAY, "hub shutting down");
      await agents.drained(2000);
      // Runs this hub was stepping stay dirty: the worker's sweep steps them.
      stores.runEngine.close();
      await liveness.stop();
      await Promise.all([presenceQueue.close(), dispatchQueue.close()]).catch(() => undefined);
    },
    stats: () => ({ agents: agents.byHost.size, browsers: browsers.conns.size }),
  };
}

/** A socket's error listener, one function for every socket (no closure each: issue 15.4). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Answer an upgrade with a plain HTTP status, before any upgrade happens. */
function reject(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once("finish", () => socket.destroy());
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}
