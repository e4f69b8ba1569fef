/** The browser-frame format's encoders and offset readers agree with JSON (browser-frame.ts). */
import fc from "fast-check";
import {
  eventIdMs,
  formatEnvelope,
  formatEventFrame,
  formatEventId,
  formatFrame,
  frameId,
  frameType,
  readEnvelope,
  sameEpoch,
} from "../src/browser-frame";

test("envelope: team, optional except, then the frames; a message without one reads as null", () => {
  const frames = '{"type":"host_update","id":"x"}\n{"type":"host_update","id":"y"}';
  const plain = readEnvelope(Buffer.from(formatEnvelope("team-a", "", frames)));
  expect(plain).toMatchObject({ team: "team-a", except: "" });
  expect(plain!.body.toString()).toBe(frames);
  const moved = readEnvelope(Buffer.from(formatEnvelope("a", "b", frames)));
  expect(moved).toMatchObject({ team: "a", except: "b" });
  expect(moved!.body.toString()).toBe(frames);
  // JSON text never holds a raw tab, so a bare frame has no envelope.
  expect(readEnvelope(Buffer.from(JSON.stringify({ type: "x", data: "a\tb" })))).toBeNull();
});

const streamId = fc
  .tuple(fc.integer({ min: 0, max: 9_999_999_999_999 }), fc.integer({ min: 0, max: 99_999_999 }))
  .map(([ms, seq]) => `${ms}-${seq}`);
const epoch = fc.stringMatching(/^[0-9a-f]{8}$/);
const type = fc.stringMatching(/^[a-z][a-z_]{0,23}$/);

test("any event frame: the readers give the id and type JSON.parse does, and the id its time and epoch", () => {
  fc.assert(
    fc.property(streamId, epoch, type, fc.jsonValue(), (sid, e, t, payload) => {
      const frame = formatEventFrame(sid, e, t, JSON.stringify(payload));
      const parsed = JSON.parse(frame) as { type: string; id: string; ts: number };
      const bytes = Buffer.from(frame);
      expect({ id: frameId(bytes), type: frameType(bytes) }).toEqual({ id: parsed.id, type: parsed.type });
      expect(parsed.id).toBe(formatEventId(sid, e));
      expect(eventIdMs(parsed.id)).toBe(parsed.ts);
      expect(sameEpoch(parsed.id, formatEventId("1-0", e))).toBe(true);
    }),
  );
});

test("a frame that is not one reads as no id and an unknown type", () => {
  expect(frameId(Buffer.from('{"type":"x"}'))).toBe("");
  expect(frameType(Buffer.from("{}"))).toBe("unknown");
  expect(formatFrame("hosts", "0", 5, '{"hosts":[]}')).toBe('{"type":"hosts","id":"0","ts":5,"payload":{"hosts":[]}}');
});
