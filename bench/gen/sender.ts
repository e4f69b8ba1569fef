/**
 * The output agent: one socket that streams `output` frames, paced or as fast as the relay
 * takes them. The send time goes into the first characters of `data` (100 bytes in all), so a
 * receiver computes latency from the frame alone.
 */
import WebSocket from "ws";
import { io, type Socket } from "socket.io-client";
import { delay, now } from "../lib/clock";
import type { System } from "./protocol";

/** Bytes of `data` in every output frame. */
export const DATA_BYTES = 100;
const PAD = "x".repeat(DATA_BYTES);

function dataAt(t: number): string {
  const head = `${t.toFixed(3)}:`;
  return head + PAD.slice(head.length);
}

interface Link {
  send(key: string, seq: number, data: string): void;
  finish(key: string): void;
  /** Bytes (or an estimate) accepted but not yet handed to the kernel. */
  buffered(): number;
  close(): void;
}

export class OutputSender {
  private link: Link | undefined;
  private readonly commands: string[] = [];
  private commandWaiter: (() => void) | undefined;

  async open(system: System, url: string, token?: string): Promise<void> {
    this.link = system === "sio" ? await this.openSio(url) : await this.openWs(system, url, token);
  }

  private async openWs(system: System, url: string, token?: string): Promise<Link> {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(system === "bare" ? `${url}?role=agent` : url, { headers, perMessageDeflate: false });
    ws.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    if (system === "tether") {
      const registered = new Promise<void>((resolve, reject) => {
        ws.on("message", (data) => {
          const frame = JSON.parse(data.toString()) as { type: string; payload: { command_id?: string; code?: string; message?: string } };
          if (frame.type === "registered") resolve();
          else if (frame.type === "command" && frame.payload.command_id) {
            this.commands.push(frame.payload.command_id);
            this.commandWaiter?.();
          } else if (frame.type === "error")
            process.stderr.write(`[output agent] hub error ${frame.payload.code}: ${frame.payload.message}\n`);
        });
        ws.once("close", (code) => reject(new Error(`output agent closed (${code}) before registered`)));
      });
      ws.send(JSON.stringify({ type: "register", payload: { hostname: "bench-output" } }));
      await registered;
    }
    return {
      send: (key, seq, data) => ws.send(JSON.stringify({ type: "output", payload: { command_id: key, seq, stream: "stdout", data } })),
      finish: (key) => {
        if (system === "tether") ws.send(JSON.stringify({ type: "command_finished", payload: { command_id: key, exit_code: 0 } }));
      },
      buffered: () => ws.bufferedAmount,
      close: () => ws.terminate(),
    };
  }

  private async openSio(url: string): Promise<Link> {
    const socket: Socket = io(url, { transports: ["websocket"], auth: { role: "agent" }, reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    // engine.io queues packets in writeBuffer while its transport is busy writing; the transport's
    // `ws` is the underlying ws socket. Together they are what this client has not yet sent.
    const engine = socket.io.engine as unknown as { writeBuffer: unknown[]; transport: { ws?: { bufferedAmount: number } } };
    return {
      send: (key, seq, data) => socket.emit("output", { command_id: key, seq, stream: "stdout", data }),
      finish: () => undefined,
      buffered: () => engine.writeBuffer.length * 160 + (engine.transport.ws?.bufferedAmount ?? 0),
      close: () => socket.disconnect(),
    };
  }

  async nextCommand(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.commands.length === 0) {
      if (Date.now() > deadline) throw new Error(`no command frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.commandWaiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.commands.shift()!;
  }

  /** Streams `count` frames; `rate` frames/s, or 0 for as fast as the socket drains. */
  async stream(key: string, rate: number, count: number, maxBuffered: number): Promise<{ sent: number; firstAt: number; lastAt: number }> {
    const link = this.link;
    if (!link) throw new Error("openSender first");
    const firstAt = now();
    let seq = 0;
    if (rate > 0) {
      // Paced: each tick (~1 ms) sends what is due by now, so the mean rate is exact and the
      // batches stay small (1 at 1,000/s, ~5 at 5,000/s).
      while (seq < count) {
        const due = Math.min(count, Math.floor(((now() - firstAt) * rate) / 1000) + 1);
        while (seq < due) link.send(key, seq++, dataAt(now()));
        if (seq < count) await delay(1);
      }
    } else {
      while (seq < count) {
        const end = Math.min(count, seq + 32);
        while (seq < end) link.send(key, seq++, dataAt(now()));
        if (link.buffered() > maxBuffered) {
          while (link.buffered() > maxBuffered / 2) await delay(1);
        } else {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    }
    const lastAt = now();
    link.finish(key);
    return { sent: seq, firstAt, lastAt };
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
  }
}
