import { readFileSync } from "node:fs";
import net from "node:net";

/** Below this no test listens: the system's own services (Redis 6379, PostgreSQL 5432, …) live there. */
const LOWEST = 10_000;
/** Tries before falling back to a kernel-chosen port. */
const TRIES = 50;
/** Ports this process handed out: never twice (two calls in one `Promise.all` could draw the same). */
const handedOut = new Set<number>();

/**
 * Where the kernel takes the local ports of outgoing connections (Linux: 32768–60999 unless set
 * otherwise). A port the kernel chose for a listener (bind 0) comes from this range too, so any
 * outgoing connection opened before the service binds it can take it — a suite opening thousands
 * of sockets beside others made a stack's api lose its port (EADDRINUSE) 1 run in a few.
 */
function ephemeralRange(): [number, number] | null {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) ? [low, high] : null;
  } catch {
    return null;
  }
}

/** Bind `port` (0: the kernel chooses) on 127.0.0.1, exclusively, then close: the port, or null when it is taken. */
function tryPort(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" || err.code === "EACCES" ? resolve(null) : reject(err),
    );
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Picked at random below the ephemeral range
 * (so no outgoing connection can take it before the service binds it; only another listener can,
 * and other tests pick at random among ~20,000), checked by binding it; the kernel's choice when
 * the range leaves no room. Whoever uses it must still handle losing the race (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  const high = range ? range[0] - 1 : 0;
  if (high - LOWEST >= 1000) {
    for (let i = 0; i < TRIES; i++) {
      const pick = LOWEST + Math.floor(Math.random() * (high - LOWEST + 1));
      if (handedOut.has(pick)) continue;
      const port = await tryPort(pick);
      if (port !== null && !handedOut.has(port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await tryPort(0);
  if (port === null) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}

/** True when nothing accepts connections on `host:port` right now (connect is refused). */
export function isPortClosed(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}
