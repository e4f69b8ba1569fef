import fc from "fast-check";
import type { WebSocket } from "ws";
import { AgentToHubSchema, BrowserToHubSchema } from "@tether/protocol";
import { systemClock } from "@tether/core";
import { FrameGuard, MAX_BAD_FRAMES } from "../src/connections/frame-guard";

/** The two calls FrameGuard makes on a socket, recorded. */
function socket() {
  const sent: Array<{ type: string; payload: { code: string; message: string } }> = [];
  const closes: number[] = [];
  const ws = { OPEN: 1, readyState: 1, send: (s: string) => sent.push(JSON.parse(s)), close: (code: number) => closes.push(code) };
  return { ws: ws as unknown as WebSocket, sent, closes };
}

const anyFrame = fc.oneof(
  fc.string(),
  fc.json(),
  fc.record({ type: fc.string(), payload: fc.anything() }),
  fc.record({ type: fc.constantFrom("register", "heartbeat", "output", "command_finished", "dispatch", "cancel"), payload: fc.anything() }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("latin1")),
);

test.each([
  ["agent", AgentToHubSchema],
  ["browser", BrowserToHubSchema],
] as const)("the %s frame parser never throws: it returns a valid frame or answers invalid_message", (_kind, schema) => {
  fc.assert(
    fc.property(anyFrame, fc.boolean(), (input, binary) => {
      const { ws, sent } = socket();
      const guard = new FrameGuard(ws, schema, systemClock, () => undefined);
      const out = guard.parse(Buffer.from(typeof input === "string" ? input : JSON.stringify(input)), binary);
      if (out === undefined) {
        expect(sent).toHaveLength(1);
        expect(sent[0]!.payload.code).toBe("invalid_message");
      } else {
        expect(schema.safeParse(out).success).toBe(true);
        expect(sent).toHaveLength(0);
      }
    }),
    { numRuns: 2000 },
  );
});

test("the 11th bad frame within a minute closes the socket with 1008", () => {
  const { ws, closes } = socket();
  const guard = new FrameGuard(ws, AgentToHubSchema, systemClock, () => undefined);
  for (let i = 0; i < MAX_BAD_FRAMES; i++) guard.parse(Buffer.from("x"), false);
  expect(closes).toEqual([]);
  guard.parse(Buffer.from("x"), false);
  expect(closes).toEqual([1008]);
});
