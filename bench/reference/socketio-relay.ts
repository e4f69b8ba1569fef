/**
 * Reference (b): Socket.IO with `@socket.io/redis-adapter`, as its docs set it up. One process
 * = one node. Agents (`auth.role = "agent"`) emit `output`; the node broadcasts it to the room
 * `browsers` across nodes through the adapter. A browser gets `ready` once it joined the room.
 * WebSocket transport only (no long-polling upgrade dance). Listens on a free port and prints it.
 *
 * Env: REDIS_URL (required), KEY (adapter channel prefix, default `bench-sio`). Bench only.
 */
import http from "node:http";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is required");

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
pub.on("error", (err) => console.error(`pub: ${err.message}`));
sub.on("error", (err) => console.error(`sub: ${err.message}`));

const server = http.createServer();
const io = new Server(server, {
  adapter: createAdapter(pub, sub, { key: process.env.KEY ?? "bench-sio" }),
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
});

io.on("connection", (socket) => {
  const auth = socket.handshake.auth as { role?: string };
  if (auth.role === "browser") {
    void Promise.resolve(socket.join("browsers")).then(() => socket.emit("ready"));
    return;
  }
  socket.on("output", (payload: unknown) => {
    io.to("browsers").emit("output", payload);
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
});

const stop = (): void => {
  void io.close();
  void Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
