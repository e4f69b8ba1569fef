import WebSocket from "ws";
import type { EventEmitter } from "node:events";
import { wireFrame } from "../src/connections/browser-conn";

// ws's own framer and parser: exported at runtime (WebSocket.Sender / .Receiver), not in @types/ws.
const { Sender, Receiver } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => EventEmitter & { write(chunk: Buffer): void };
};

/** What `ws` itself writes for a server-side text message (unmasked, one fragment). */
function wsFrame(text: Buffer): Buffer {
  return Buffer.concat(Sender.frame(text, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }));
}

test.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])(
  "a %i-byte text frame is byte for byte what ws sends, and ws reads it back",
  async (n) => {
    const text = Buffer.from("x".repeat(n));
    const wire = wireFrame(text);
    expect(wire.equals(wsFrame(text))).toBe(true);
    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    const got = new Promise<string>((resolve) => receiver.on("message", (data: Buffer) => resolve(data.toString())));
    receiver.write(wire);
    expect(await got).toBe(text.toString());
  },
);
