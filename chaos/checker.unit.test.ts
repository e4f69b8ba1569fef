import { checkBrowsers, checkCommands, checkHosts, checkRuns, type LoggedEvent } from "./checker";
import type { BrowserSegment } from "./clients";

const id = (n: number) => `${String(1_000 + n).padStart(13, "0")}-00000000-e1`;
const log: LoggedEvent[] = [1, 2, 3, 4, 5, 6].map((n) => ({ id: id(n), forAdmin: n !== 4 }));
const seg = (from: number, ids: number[], extra: Partial<BrowserSegment> = {}): BrowserSegment => ({
  from: id(from),
  snapshot: true,
  resync: false,
  ids: ids.map(id),
  ...extra,
});

describe("browsers", () => {
  test("a snapshot then every later event, and a resume from its last id: no violation", () => {
    const v = checkBrowsers(log, [[seg(1, [2, 3]), seg(3, [5, 6], { snapshot: false })]]);
    expect(v.violations).toEqual([]);
    expect(v.checked).toBe(4);
  });
  test("an event an admin does not get (except) is not expected", () => {
    expect(checkBrowsers(log, [[seg(3, [5])]]).violations).toEqual([]);
  });
  test("a duplicate or a step back is an order violation", () => {
    expect(checkBrowsers(log, [[seg(1, [2, 2, 3])]]).violations.map((v) => v.rule)).toEqual(["browser-order"]);
    expect(checkBrowsers(log, [[seg(1, [3, 2])]]).violations.map((v) => v.rule)).toContain("browser-order");
  });
  test("a missing event is a gap; one the log does not hold is unknown", () => {
    expect(checkBrowsers(log, [[seg(1, [2, 5])]]).violations.map((v) => v.rule)).toEqual(["browser-gap"]);
    const unknown = { ...seg(1, [2]), ids: [id(2), `${String(1_002).padStart(13, "0")}-00000001-e1`, id(3)] };
    expect(checkBrowsers(log, [[unknown]]).violations.map((v) => v.rule)).toEqual(["browser-unknown-event"]);
  });
  test("events the log lost are excused when the next segment is an explicit resync", () => {
    const lost = `${String(1_002).padStart(13, "0")}-00000001-e1`;
    const before = { ...seg(1, [2]), ids: [id(2), lost] };
    expect(checkBrowsers(log, [[before, seg(5, [6], { resync: true })]]).violations).toEqual([]);
    expect(checkBrowsers(log, [[before, seg(5, [6])]]).violations.map((v) => v.rule)).toEqual(["browser-unknown-event"]);
  });
  test("what the log no longer holds at its old end (trimmed) is not judged", () => {
    const trimmed = [`${String(500).padStart(13, "0")}-00000000-e1`, `${String(600).padStart(13, "0")}-00000000-e1`];
    const early = { ...seg(1, []), from: trimmed[0]!, ids: [trimmed[1]!, id(1), id(2), id(3)] };
    expect(checkBrowsers(log, [[early]]).violations).toEqual([]);
  });
  test("what arrived after the log was read is not judged", () => {
    expect(checkBrowsers(log, [[seg(1, [2, 3, 4, 5, 6, 7, 8])]]).violations).toEqual([]);
  });
  test("a resync is counted, and checked from its own snapshot on", () => {
    const v = checkBrowsers(log, [[seg(1, [2]), seg(5, [6], { resync: true })]]);
    expect(v).toMatchObject({ violations: [], resyncs: 1 });
  });
});

describe("commands", () => {
  test("ran on its own host and terminal passes; on another host, or still running, does not", () => {
    const ranOn = new Map([
      ["a", ["h1"]],
      ["b", ["h2", "h3"]],
    ]);
    const v = checkCommands(
      [
        { id: "a", hostId: "h1", status: "succeeded" },
        { id: "b", hostId: "h2", status: "succeeded" },
        { id: "c", hostId: "h1", status: "running" },
        { id: "d", hostId: "h1", status: "expired" },
      ],
      ranOn,
    );
    expect(v.violations.map((x) => x.rule)).toEqual(["command-wrong-host", "command-not-terminal"]);
  });
});

describe("hosts", () => {
  test("online exactly when its agent is connected", () => {
    const v = checkHosts(
      [
        { id: "1", name: "a", status: "online" },
        { id: "2", name: "b", status: "offline" },
        { id: "3", name: "c", status: "online" },
      ],
      new Set(["1", "2"]),
    );
    expect(v.violations.map((x) => x.detail)).toEqual([
      "host b is offline, its agent is connected",
      "host c is online, its agent is not connected",
    ]);
  });
});

describe("runs", () => {
  const cmds = (...statuses: string[]) => statuses.map((status) => ({ status }));
  test("over, and counted exactly, passes", () => {
    const run = {
      id: "r",
      status: "finished",
      total: 3,
      counts: { succeeded: 2, failed: 1, running: 0 },
      commands: cmds("succeeded", "failed", "succeeded"),
    };
    expect(checkRuns([run]).violations).toEqual([]);
  });
  test("a count off by one, a wrong total, or a run still running does not", () => {
    const off = { id: "a", status: "finished", total: 2, counts: { succeeded: 2 }, commands: cmds("succeeded", "failed") };
    const total = { id: "b", status: "finished", total: 3, counts: { succeeded: 2 }, commands: cmds("succeeded", "succeeded") };
    const running = { id: "c", status: "running", total: 1, counts: { succeeded: 1 }, commands: cmds("succeeded") };
    expect(checkRuns([off, total, running]).violations.map((v) => v.detail.slice(0, 6))).toEqual(["run a:", "run b:", "run c "]);
  });
});
