import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { connectAgent, expectUpgradeStatus, UpgradeRejectedError } from "./clients";

// Harness self-test of TestSocket against an in-process server (port 0): ordering, buffering,
// fail-fast on close, timeouts that say what arrived, and upgrade statuses.
describe("TestSocket", () => {
  let server: http.Server;
  let wss: WebSocketServer;
  let url: string;
  const serverSockets: WebSocket[] = [];

  beforeAll(async () => {
    server = http.createServer();
    wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req, socket, head) => {
      if (req.headers.authorization !== "Bearer good") {
        socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 12\r\n\r\nunauthorized");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        serverSockets.push(ws);
        // Frames sent right after the upgrade must not be lost by the client.
        for (const n of [1, 2, 3]) ws.send(JSON.stringify({ type: n === 2 ? "two" : "other", payload: { n } }));
        ws.on("message", (data) => {
          const text = String(data);
          if (text === "close-me") ws.close(4001, "replaced");
          else if (text === "not-json") ws.send("{oops");
          else ws.send(text); // echo
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  });

  afterAll(async () => {
    for (const ws of serverSockets) ws.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const open = () => connectAgent(url, "good");

  test("next(type) takes the first match and keeps the others queued in order", async () => {
    const socket = await open();
    const two = await socket.next((f) => f.type === "two");
    expect(two.payload.n).toBe(2);
    expect(two.receivedAt).toBeLessThanOrEqual(Date.now());
    expect((await socket.next()).payload.n).toBe(1);
    expect((await socket.next()).payload.n).toBe(3);
    socket.send({ type: "echo", payload: { n: 4 } });
    expect(await socket.next((f) => f.payload.n === 4)).toEqual({ type: "echo", payload: { n: 4 } });
    expect(socket.frames.map((f) => f.payload.n)).toEqual([1, 2, 3, 4]);
    await socket.close();
  });

  test("a timeout lists what arrived instead", async () => {
    const socket = await open();
    await socket.next((f) => f.type === "two");
    await expect(socket.next((f) => f.type === "never", 100)).rejects.toThrow(
      /waited in vain for a frame matching \(f\) => f\.type === "never".*3 frames received, 2 unconsumed[\s\S]*"n":1[\s\S]*"n":3/,
    );
    await socket.close();
  });

  test("a server close fails a pending next() at once, with the code", async () => {
    const socket = await open();
    const pending = socket.next((f) => f.type === "never", 10_000);
    socket.sendRaw("close-me");
    await expect(pending).rejects.toThrow(/closed \(4001 replaced\)/);
    expect(await socket.closed).toEqual({ code: 4001, reason: "replaced" });
  });

  test("a non-JSON message fails a pending next()", async () => {
    const socket = await open();
    const pending = socket.next((f) => f.type === "never", 10_000);
    socket.sendRaw("not-json");
    await expect(pending).rejects.toThrow(/non-JSON text message: \{oops/);
    await socket.close();
  });

  test("upgrade statuses: 101 when accepted, the HTTP status when rejected", async () => {
    expect(await expectUpgradeStatus(url, { Authorization: "Bearer good" })).toBe(101);
    expect(await expectUpgradeStatus(url, { Authorization: "Bearer bad" })).toBe(401);
    await expect(connectAgent(url, "bad")).rejects.toEqual(expect.any(UpgradeRejectedError));
    await expect(connectAgent(url, "bad")).rejects.toMatchObject({ status: 401, body: "unauthorized" });
  });
});
