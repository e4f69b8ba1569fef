import { once } from "node:events";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { userPrincipal } from "@tether/core";
import { BrowserConn, wireFrame, type WireEvent } from "../src/connections/browser-conn";

/** A real socket pair over loopback: the hub's side of a browser socket, and the browser. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
  const [server] = (await once(wss, "connection")) as [WebSocket];
  if (client.readyState !== WebSocket.OPEN) await once(client, "open");
  return {
    server,
    client,
    async close() {
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** Counts what reaches the kernel side of the hub's socket: one call of _write or _writev each. */
function countWrites(ws: WebSocket): { writes: number; writevs: number } {
  type Write = (...args: unknown[]) => unknown;
  const socket = (ws as unknown as { _socket: { _write: Write; _writev: Write } })._socket;
  const counts = { writes: 0, writevs: 0 };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...args: unknown[]) => (counts.writes++, write(...args));
  socket._writev = (...args: unknown[]) => (counts.writevs++, writev(...args));
  return counts;
}

function event(n: number): WireEvent {
  const frame = Buffer.from(JSON.stringify({ type: "host_update", id: `000${n}-0`, payload: { n } }));
  return { p: 0, head: `000${n}`, frame, wire: wireFrame(frame) };
}

function received(client: WebSocket, n: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) =>
    client.on("message", (data: Buffer) => {
      got.push(data.toString());
      if (got.length === n) resolve(got);
    }),
  );
}

function liveConn(ws: WebSocket): BrowserConn {
  const conn = new BrowserConn(ws, "sid", "claim", userPrincipal({ id: "u1", username: "ana", role: "admin", teams: [] }), 1 << 20, () => {
    throw new Error("not slow");
  });
  conn.goLive();
  return conn;
}

let sockets: Awaited<ReturnType<typeof pair>>;
beforeEach(async () => {
  sockets = await pair();
});
afterEach(() => sockets.close());

test("frames of several relayed messages in one turn reach the socket in one write, in order", async () => {
  const { server, client } = sockets;
  const conn = liveConn(server);
  const counts = countWrites(server);
  const got = received(client, 3);
  // Three published messages parsed from one read of the subscription: one offer each.
  conn.offer([event(1)]);
  conn.offer([event(2)]);
  conn.offer([event(3)]);
  expect(counts).toEqual({ writes: 0, writevs: 0 });
  expect((await got).map((m) => (JSON.parse(m) as { payload: { n: number } }).payload.n)).toEqual([1, 2, 3]);
  expect(counts).toEqual({ writes: 0, writevs: 1 });
});

test("an offer in a later turn is written in that turn, not held for another", async () => {
  const { server, client } = sockets;
  const conn = liveConn(server);
  const counts = countWrites(server);
  const first = received(client, 1);
  conn.offer([event(1)]);
  await first;
  client.removeAllListeners("message");
  const second = received(client, 1);
  conn.offer([event(2)]);
  // Written by the end of this turn (the microtask), with nothing else to come along.
  await Promise.resolve();
  expect(counts.writes + counts.writevs).toBe(2);
  expect(JSON.parse((await second)[0]!)).toMatchObject({ payload: { n: 2 } });
});

test("a frame the socket already has is not written again, and other sends keep their place", async () => {
  const { server, client } = sockets;
  const conn = liveConn(server);
  const got = received(client, 3);
  conn.offer([event(1)]);
  conn.sendRaw('{"type":"error"}');
  conn.offer([event(1), event(2)]);
  const messages = await got;
  expect(messages[0]).toContain('"n":1');
  expect(messages[1]).toBe('{"type":"error"}');
  expect(messages[2]).toContain('"n":2');
});
