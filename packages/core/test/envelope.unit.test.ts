/** The fan-out envelope: what the Lua scripts prefix and the hub reads by bytes. */
import { formatEnvelope, readEnvelope } from "../src/envelope";

test("team, optional except, then the frames; a message without one reads as null", () => {
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
