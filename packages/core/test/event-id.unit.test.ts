import fc from "fast-check";
import { formatEventFrame, formatEventId, frameId, parseEventId } from "../src/browser-frame";

/** The order of two stream ids ("ms-seq"), numerically: the oracle for the string order. */
const compareStreamIds = (a: string, b: string) => {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
};

const streamId = fc
  .tuple(fc.integer({ min: 0, max: 9_999_999_999_999 }), fc.integer({ min: 0, max: 99_999_999 }))
  .map(([ms, seq]) => `${ms}-${seq}`);
const epoch = fc.stringMatching(/^[0-9a-f]{8}$/);

describe("event ids", () => {
  test("round-trip through the external form", () => {
    fc.assert(
      fc.property(streamId, epoch, (sid, e) => {
        expect(parseEventId(formatEventId(sid, e))).toEqual({ streamId: sid, epoch: e });
      }),
    );
  });

  test("external ids sort as plain strings in stream order (CONTRACT: ids sort in event order)", () => {
    fc.assert(
      fc.property(streamId, streamId, epoch, (a, b, e) => {
        const byString = Math.sign(formatEventId(a, e).localeCompare(formatEventId(b, e), "en"));
        const plain = formatEventId(a, e) < formatEventId(b, e) ? -1 : formatEventId(a, e) > formatEventId(b, e) ? 1 : 0;
        expect(plain).toBe(Math.sign(compareStreamIds(a, b)));
        expect(Math.abs(byString)).toBe(Math.abs(plain));
      }),
    );
  });

  test("ids that are not ours do not parse", () => {
    for (const bad of ["", "0", "123-4", "1795311252783-00000000-", "1795311252783-0-abc", "x".repeat(200)]) {
      expect(parseEventId(bad)).toBeNull();
    }
  });

  test("the hub reads the id out of a frame without parsing it all", () => {
    const frame = formatEventFrame("1795311252783-7", "ab12cd34", "command_output", JSON.stringify({ data: '"id":"fake"' }));
    expect(JSON.parse(frame)).toMatchObject({ id: "1795311252783-00000007-ab12cd34", ts: 1795311252783, type: "command_output" });
    expect(frameId(Buffer.from(frame))).toBe("1795311252783-00000007-ab12cd34");
  });
});
