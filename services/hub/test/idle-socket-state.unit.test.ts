/**
 * Issue 15.4: an idle agent socket holds no closure, listener or helper object of its own. These
 * tests pin the behaviour that makes that so: the keepalive's pong listener is one function for
 * every socket and the connection is its own entry; a dropped entry is never pinged again; an
 * agent connection's `ready` settles once and then is a promise every connection shares.
 * Real sockets on loopback; the keepalive's timer is driven by hand.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger, systemClock, type Clock } from "@tether/core";
import { KeepAlive, keptBy, type KeepAliveEntry } from "../src/connections/keepalive";
import { AgentConn, type AgentConnShared } from "../src/connections/agent-conn";

/** The system clock, but setInterval only records its function: the test calls the ticks. */
function handClock(): Clock & { tick(): void } {
  let fn: (() => void) | undefined;
  return {
    ...systemClock,
    setInterval: (f: () => void) => {
      fn = f;
      return setInterval(() => undefined, 1 << 30);
    },
    clearInterval: (t) => clearInterval(t),
    tick: () => fn?.(),
  };
}

let wss: WebSocketServer;
let url: string;
const clients: WebSocket[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(wss, "listening");
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

afterAll(async () => {
  for (const ws of wss.clients) ws.terminate();
  await new Promise((r) => wss.close(r));
});

/** A client (autoPong as given) and the server's side of it. */
async function pair(autoPong = true): Promise<{ client: WebSocket; server: WebSocket }> {
  const accepted = once(wss, "connection") as Promise<[WebSocket]>;
  const client = new WebSocket(url, { autoPong });
  clients.push(client);
  client.on("error", () => undefined);
  const [[server]] = await Promise.all([accepted, once(client, "open")]);
  return { client, server };
}

const entry = (ws: WebSocket): KeepAliveEntry => ({ ws, alive: true, slot: -1 });

test("every kept socket shares one pong listener, and finds its entry on the socket", async () => {
  const clock = handClock();
  const keep = new KeepAlive(10, clock);
  const a = await pair();
  const b = await pair();
  const ea = entry(a.server);
  const eb = entry(b.server);
  keep.keep(ea);
  keep.keep(eb);
  expect(a.server.listeners("pong")).toHaveLength(1);
  expect(a.server.listeners("pong")[0]).toBe(b.server.listeners("pong")[0]);
  expect(keptBy(a.server)).toBe(ea);
  expect(keptBy(b.server)).toBe(eb);
  // Pinged on the tick; the pong marks the entry alive again.
  clock.tick();
  expect(ea.alive).toBe(false);
  await once(a.server, "pong");
  expect(ea.alive).toBe(true);
  keep.stop();
});

test("a socket that did not pong since its last ping is terminated on the next tick", async () => {
  const clock = handClock();
  const keep = new KeepAlive(10, clock);
  const silent = await pair(false);
  const e = entry(silent.server);
  keep.keep(e);
  const pinged = once(silent.client, "ping");
  clock.tick();
  await pinged;
  const closed = once(silent.client, "close");
  clock.tick();
  await closed;
  expect(e.slot).toBe(-1);
  keep.stop();
});

test("a dropped entry is never pinged again", async () => {
  const clock = handClock();
  const keep = new KeepAlive(10, clock);
  const kept = await pair();
  const dropped = await pair();
  keep.keep(entry(kept.server));
  const d = entry(dropped.server);
  keep.keep(d);
  keep.drop(d);
  let pings = 0;
  dropped.client.on("ping", () => (pings += 1));
  const keptPinged = once(kept.client, "ping");
  clock.tick();
  await keptPinged;
  // Barrier: a message sent after the tick arrives after any ping the tick sent on that socket.
  const barrier = once(dropped.client, "message");
  dropped.server.send("after the tick");
  await barrier;
  expect(pings).toBe(0);
  keep.stop();
});

test("an agent connection's ready settles once, then is the promise every connection shares", async () => {
  const shared: AgentConnShared = {
    clock: systemClock,
    log: createLogger({ level: "silent", nodeId: "test", service: "hub" }),
    onSend: () => undefined,
    beforePing: () => Promise.resolve(true),
    message: () => undefined,
    closed: () => undefined,
    error: () => undefined,
  };
  const a = await pair();
  const b = await pair();
  const ca = new AgentConn(a.server, "h1", "t1", shared);
  const cb = new AgentConn(b.server, "h2", "t2", shared);
  const own = ca.ready;
  expect(own).not.toBe(cb.ready);
  ca.markReady(true);
  ca.markReady(false);
  cb.markReady(true);
  await expect(own).resolves.toBe(true);
  expect(ca.ready).toBe(cb.ready);
  await expect(ca.ready).resolves.toBe(true);
  // The connection is its own keepalive entry; its warn limiter is made at the first use.
  expect(ca.slot).toBe(-1);
  expect(ca.warns).toBe(ca.warns);
});
