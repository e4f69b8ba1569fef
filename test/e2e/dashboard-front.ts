/**
 * A tiny load balancer for the dashboard test: one origin in front of the API and the hubs,
 * as production has it. The page's `ws://<page host>/ws` must reach a hub while everything
 * else (the dashboard, `/api/…`) goes to the API, so this front proxies WebSocket upgrades on
 * `/ws` to the current hub (switchable at runtime: point it at hub B, then kill hub A) and
 * every other request to the API. Node's `http`/`net` only: an upgrade is piped to the hub as
 * raw bytes, the original request head first.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";

/** Where the front sends traffic: ports on 127.0.0.1. */
export interface FrontTargets {
  apiPort: number;
  hubPort: number;
}

/** One `/ws` connection the front carried. */
export interface Tunnel {
  /** `browser` (cookie) or `agent` (Authorization header). */
  kind: "browser" | "agent";
  hubPort: number;
  /** The request path and query, e.g. `/ws?after=…`. */
  url: string;
  openedAt: number;
  /** Set when either side closed. */
  closedAt: number | undefined;
  /** Resolves when either side closed. */
  closed: Promise<void>;
}

/** The running front. */
export interface Front {
  /** `http://127.0.0.1:port`: the origin the page is served from. */
  readonly origin: string;
  readonly port: number;
  /** Sets both targets (call once the stack is up; until then every request gets 503). */
  route(targets: FrontTargets): void;
  /** Sends new `/ws` upgrades to this hub from now on (open tunnels stay where they are). */
  switchHub(hubPort: number): void;
  /** Every tunnel opened so far, oldest first. */
  readonly tunnels: readonly Tunnel[];
  /** Tunnels of this kind still open. */
  open(kind: Tunnel["kind"]): Tunnel[];
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts the front on a free port (port 0) of 127.0.0.1. */
export async function startFront(): Promise<Front> {
  let targets: FrontTargets | undefined;
  const tunnels: Tunnel[] = [];
  const sockets = new Set<net.Socket>();
  const apiAgent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    if (!targets) {
      res.writeHead(503, { "content-type": "text/plain" }).end("front: no targets yet");
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: targets.apiPort, method: req.method, path: req.url, headers: req.headers, agent: apiAgent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`front: API unreachable: ${err.message}`);
    });
    req.pipe(upstream);
  });

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  server.on("upgrade", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (!targets || !(req.url ?? "").startsWith("/ws")) {
      client.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const hubPort = targets.hubPort;
    const upstream = net.connect({ host: "127.0.0.1", port: hubPort });
    sockets.add(upstream);
    let markClosed!: () => void;
    const tunnel: Tunnel = {
      kind: req.headers.authorization ? "agent" : "browser",
      hubPort,
      url: req.url ?? "",
      openedAt: Date.now(),
      closedAt: undefined,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    tunnels.push(tunnel);
    let connected = false;
    let refused = false;
    // Either side ending ends both: a killed hub drops the browser's socket at once, as a
    // load balancer whose backend died does (the browser sees 1006 and reconnects).
    const teardown = (): void => {
      if (tunnel.closedAt === undefined) {
        tunnel.closedAt = Date.now();
        markClosed();
      }
      if (!refused) client.destroy();
      upstream.destroy();
    };
    client.on("error", teardown).on("close", teardown);
    upstream.on("error", (err) => {
      // The hub is down: answer like a load balancer with no backend (the browser retries).
      if (!connected && client.writable) {
        refused = true;
        client.end(
          `HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(err.message)}\r\n\r\n${err.message}`,
        );
      }
      teardown();
    });
    upstream.on("close", teardown);
    upstream.once("connect", () => {
      connected = true;
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    route(next) {
      targets = { ...next };
    },
    switchHub(hubPort) {
      if (!targets) throw new Error("front: route() before switchHub()");
      targets = { ...targets, hubPort };
    },
    tunnels,
    open: (kind) => tunnels.filter((t) => t.kind === kind && t.closedAt === undefined),
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        apiAgent.destroy();
      });
    },
  };
}
