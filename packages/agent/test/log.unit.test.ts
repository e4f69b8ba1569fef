import { scrubEnv } from "../src/agent";
import { createLog } from "../src/log";
import { FakeClock } from "./support/fake-clock";

describe("createLog", () => {
  test("one plain line per event: time, level, event, key=value (quoted only when needed)", () => {
    const lines: string[] = [];
    const clock = new FakeClock();
    clock.advance(Date.UTC(2026, 10, 22, 1, 0, 0));
    const log = createLog({ write: (l) => lines.push(l), clock, level: "info" });
    log.debug("hidden");
    log.info("connected", { url: "ws://h:8000/ws", attempt: 2, missing: undefined });
    log.warn("disconnected", { reason: "two words", empty: "" });
    expect(lines).toEqual([
      "2026-11-22T01:00:00.000Z info connected url=ws://h:8000/ws attempt=2\n",
      '2026-11-22T01:00:00.000Z warn disconnected reason="two words" empty=""\n',
    ]);
  });

  test("a secret never reaches a line, even if a bug tries to log it", () => {
    const lines: string[] = [];
    const log = createLog({ write: (l) => lines.push(l), secrets: ["s3cret-token"] });
    log.error("oops", { header: "Bearer s3cret-token" });
    expect(lines[0]).toContain('header="Bearer [redacted]"');
  });
});

describe("scrubEnv", () => {
  test("drops TETHER_* and any variable holding the token", () => {
    expect(scrubEnv({ PATH: "/bin", TETHER_TOKEN: "tok", TETHER_ANYTHING: "x", COPY: "a-tok-b", HOME: "/root" }, "tok")).toEqual({
      PATH: "/bin",
      HOME: "/root",
    });
  });
});
