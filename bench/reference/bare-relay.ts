/**
 * Reference (a): the barest relay a user might write. One process = one node: plain `ws`,
 * ioredis PUBLISH/SUBSCRIBE on one channel. Agents' frames (`?role=agent`) are published as
 * they are; every node forwards each message on the channel to its browsers (`?role=browser`).
 * No validation, no log, no auth, no backpressure. Listens on a free port and prints it.
 *
 * Env: REDIS_URL (required), CHANNEL (default `bench:bare`). Bench only, never the product.
 */
import http from "node:http";
import { Redis } from "ioredis";
import WebSocket, { WebSocketServer } from "ws";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is required");
const channel = process.env.CHANNEL ?? "bench:bare";

const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl);
pub.on("error", (err) => console.error(`pub: ${err.message}`));
sub.on("error", (err) => console.error(`sub: ${err.message}`));

const browsers = new Set<WebSocket>();
const server = http.createServer((_req, res) => res.end("ok"));
const wss = new WebSocketServer({ server, perMessageDeflate: false });

wss.on("connection", (ws, req) => {
  const role = new URL(req.url ?? "/", "http://localhost").searchParams.get("role");
  ws.on("error", () => undefined);
  if (role === "browser") {
    browsers.add(ws);
    ws.on("close", () => browsers.delete(ws));
    return;
  }
  ws.on("message", (data) => void pub.publish(channel, data as Buffer));
});

sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
  for (const ws of browsers) ws.send(message, { binary: false });
});

void sub.subscribe(channel).then(() => {
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
  });
});

const stop = (): void => {
  for (const ws of wss.clients) ws.terminate();
  server.close();
  void Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
