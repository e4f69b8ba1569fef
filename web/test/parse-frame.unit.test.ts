import { parseHubFrame } from "../src/lib/parse-frame";

describe("parseHubFrame", () => {
  it("accepts every kind of hub → browser frame", () => {
    const frames = [
      { type: "hosts", id: "1", ts: 1, payload: { hosts: [{ id: "h", name: "web", status: "online" }], resync: true } },
      { type: "host_removed", id: "2", ts: 2, payload: { host_id: "h" } },
      { type: "command_output", id: "3", ts: 3, payload: { command_id: "c", host_id: "h", seq: 0, stream: "stderr", data: "x" } },
      { type: "error", payload: { code: "invalid_message", message: "nope" } },
    ];
    for (const frame of frames) expect(parseHubFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it("rejects what does not match its schema", () => {
    for (const text of [
      "{",
      "null",
      "[]",
      JSON.stringify({ type: "host_update", payload: { host: { id: "h", name: "w", status: "online" } } }), // no id/ts
      JSON.stringify({
        type: "command_output",
        id: "1",
        ts: 1,
        payload: { command_id: "c", host_id: "h", seq: -1, stream: "stdout", data: "" },
      }),
      JSON.stringify({ type: "surprise", id: "1", ts: 1, payload: {} }),
    ]) {
      expect(parseHubFrame(text)).toBeUndefined();
    }
    expect(parseHubFrame(new Uint8Array([0xff, 0xfe]).buffer)).toBeUndefined();
    expect(parseHubFrame(42)).toBeUndefined();
  });

  it("reads a frame sent as binary UTF-8", () => {
    const frame = { type: "host_removed", id: "2", ts: 2, payload: { host_id: "hé" } };
    const bytes = new TextEncoder().encode(JSON.stringify(frame));
    expect(parseHubFrame(bytes.buffer)).toEqual(frame);
    expect(parseHubFrame(bytes)).toEqual(frame);
  });
});
