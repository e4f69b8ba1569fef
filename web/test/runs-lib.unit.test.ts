import type { Command, Run } from "@tether/protocol";
import { EMPTY_FLEET, commandsOfRun, evolve, rememberCommand, rememberRun, runsNewestFirst } from "../src/lib/fleet-state";
import { FleetStore } from "../src/fleet-store";
import { hrefFor, parseRoute } from "../src/lib/route";
import { RunFollower } from "../src/lib/run-follower";
import { RunLines } from "../src/lib/run-lines";
import { countStatuses, filterTiles, runProgress, runTiles, summarizeRun } from "../src/lib/run-model";

const counts = (partial: Partial<Run["counts"]> = {}): Run["counts"] => ({ ...countStatuses([]), ...partial });
const run = (extra: Partial<Run> = {}): Run => ({
  id: "r1",
  command: "check",
  args: [],
  status: "running",
  counts: counts({ queued: 3 }),
  total: 3,
  created_at: 1000,
  requested_by: { type: "user", id: "u1", name: "opal" },
  team_id: "default",
  ...extra,
});
const command = (id: string, host: string, extra: Partial<Command> = {}): Command => ({
  id,
  host_id: host,
  command: "check",
  args: [],
  status: "queued",
  created_at: 1000,
  exit_code: null,
  run_id: "r1",
  ...extra,
});

describe("RunLines", () => {
  it("cuts chunks into lines per command and stream, tagged with the host; a command's end flushes its last line", () => {
    const lines = new RunLines();
    lines.push("c1", "h1", "web-1", "stdout", "one\ntw");
    lines.push("c2", "h2", "web-2", "stdout", "x\n");
    lines.push("c1", "h1", "web-1", "stderr", "oops");
    lines.push("c1", "h1", "web-1", "stdout", "o\nthree");
    expect(lines.lines().map((l) => `${l.host}|${l.text}`)).toEqual(["web-1|one", "web-2|x", "web-1|two"]);
    lines.end("c1");
    expect(lines.lines().map((l) => `${l.stream}:${l.text}`)).toEqual([
      "stdout:one",
      "stdout:x",
      "stdout:two",
      "stdout:three",
      "stderr:oops",
    ]);
  });

  it("keeps at most maxLines lines and tells the screen what to drop and add", () => {
    const lines = new RunLines(3, 5);
    lines.push("c", "h", "h", "stdout", "a\nb\n");
    expect(lines.flush()).toEqual({ remove: 0, add: [expect.objectContaining({ text: "a" }), expect.objectContaining({ text: "b" })] });
    lines.push("c", "h", "h", "stdout", "c\nd\ne\nabcdefgh\n");
    const plan = lines.flush();
    expect(plan.remove).toBe(2);
    expect(plan.add.map((l) => l.text)).toEqual(["d", "e", "abcde…"]);
    expect(lines.dropped).toBe(3);
    expect(lines.size).toBe(3);
    lines.redraw();
    expect(lines.flush()).toMatchObject({ remove: 0, add: [{ text: "d" }, { text: "e" }, { text: "abcde…" }] });
  });

  it("stays bounded over many lines without a flush", () => {
    const lines = new RunLines(100);
    for (let i = 0; i < 50_000; i++) lines.push("c", "h", "h", "stdout", `line ${i}\n`);
    expect(lines.size).toBe(100);
    expect(lines.lines()[0]!.text).toBe("line 49900");
    expect((lines as unknown as { buf: unknown[] }).buf.length).toBeLessThanOrEqual(100 + 100);
  });
});

describe("run model", () => {
  const names = (id: string) => ({ h1: "web-1", h2: "web-2", h3: "db-1" })[id];
  const commands = [
    command("c1", "h1", { status: "succeeded", exit_code: 0 }),
    command("c2", "h2", { status: "succeeded", exit_code: 0 }),
    command("c3", "h3", { status: "failed", exit_code: 1 }),
  ];

  it("tiles are by host name; the filter narrows by status", () => {
    const tiles = runTiles(commands, names);
    expect(tiles.map((t) => t.hostName)).toEqual(["db-1", "web-1", "web-2"]);
    expect(filterTiles(tiles, "succeeded").map((t) => t.hostName)).toEqual(["web-1", "web-2"]);
  });

  it("counts from the commands when all are known, and reads the run as finished once every one is final", () => {
    expect(runProgress(run(), commands)).toMatchObject({ done: 3, total: 3, status: "finished", counts: { succeeded: 2, failed: 1 } });
    expect(runProgress(run({ cancel_requested: true }), commands).status).toBe("cancelled");
    // Only one command known: the run's own counts.
    expect(runProgress(run({ counts: counts({ running: 2, succeeded: 1 }) }), commands.slice(0, 1))).toMatchObject({
      done: 1,
      status: "running",
      counts: { running: 2, succeeded: 1 },
    });
  });

  it("summarizes succeeded / failed / other by exit code", () => {
    const tiles = runTiles([...commands, command("c4", "h4", { status: "cancelled" }), command("c5", "h5", { status: "running" })], names);
    const summary = summarizeRun(tiles);
    expect([summary.succeeded, summary.failed, summary.other]).toEqual([2, 1, 1]);
    expect(summary.groups.map((g) => [g.outcome, g.status, g.exitCode, g.count])).toEqual([
      ["succeeded", "succeeded", 0, 2],
      ["failed", "failed", 1, 1],
      ["other", "cancelled", null, 1],
    ]);
  });
});

describe("runs in the fleet state", () => {
  it("run_update keeps the furthest copy; a final run never goes back to running; a resync forgets runs", () => {
    const meta = { id: "1", ts: 1 };
    let state = evolve(EMPTY_FLEET, {
      type: "run_update",
      ...meta,
      payload: { run: run({ counts: counts({ succeeded: 2, queued: 1 }) }) },
    });
    state = rememberRun(state, run()); // an older REST answer
    expect(state.runs.get("r1")!.counts.succeeded).toBe(2);
    state = evolve(state, { type: "run_update", ...meta, payload: { run: run({ status: "finished", counts: counts({ succeeded: 3 }) }) } });
    state = evolve(state, { type: "run_update", ...meta, payload: { run: run({ counts: counts({ succeeded: 2, running: 1 }) }) } });
    expect(state.runs.get("r1")!.status).toBe("finished");
    state = rememberRun(state, run({ id: "r2", created_at: 2000 }));
    expect(runsNewestFirst(state).map((r) => r.id)).toEqual(["r2", "r1"]);
    state = rememberCommand(state, command("c1", "h1"));
    state = rememberCommand(state, command("c9", "h1", { run_id: undefined }));
    expect(commandsOfRun(state, "r1").map((c) => c.id)).toEqual(["c1"]);
    state = evolve(state, { type: "hosts", ...meta, payload: { hosts: [], resync: true } });
    expect(state.runs.size).toBe(0);
  });

  it("routes: #/runs, #/runs/ID, #/runs/ID/hosts/HID", () => {
    expect(parseRoute("#/runs")).toEqual({ view: "runs" });
    expect(parseRoute("#/runs/r%201")).toEqual({ view: "run", runId: "r 1" });
    expect(parseRoute("#/runs/r1/hosts/h1")).toEqual({ view: "run", runId: "r1", hostId: "h1" });
    expect(hrefFor({ view: "run", runId: "r 1", hostId: "h1" })).toBe("#/runs/r%201/hosts/h1");
    expect(hrefFor({ view: "runs" })).toBe("#/runs");
  });
});

describe("RunFollower", () => {
  const noSocket = {
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send: () => undefined,
    close: () => undefined,
  };
  function setup(commands: Command[]) {
    const store = new FleetStore({
      url: () => "ws://test/ws",
      createSocket: () => noSocket,
      api: { session: async () => null },
      onSessionLost: () => undefined,
      random: () => 0.5,
      setTimer: () => undefined,
      clearTimer: () => undefined,
      now: () => 0,
    });
    store.apply({ type: "hosts", id: "0", ts: 1, payload: { hosts: [{ id: "h1", name: "web-1", status: "online" }] } });
    const snapshots: Record<string, (output: { seq: number; stream: "stdout"; data: string }[]) => void> = {};
    const api = {
      getRun: jest.fn(async () => ({ run: run({ total: commands.length }), commands })),
      getCommand: jest.fn(
        (id: string) =>
          new Promise<{ command: Command; output: { seq: number; stream: "stdout"; data: string }[] }>((resolve) => {
            snapshots[id] = (output) => resolve({ command: commands.find((c) => c.id === id)!, output });
          }),
      ),
    };
    const follower = new RunFollower({ store, api, runId: "r1", onChange: () => undefined });
    const output = (commandId: string, seq: number, data: string) =>
      store.apply({
        type: "command_output",
        id: `${seq + 10}`,
        ts: 2,
        payload: { command_id: commandId, host_id: "h1", seq, stream: "stdout", data },
      });
    return { store, api, follower, snapshots, output, settle: () => new Promise((r) => setTimeout(r, 0)) };
  }

  it("merges a running command's snapshot with what arrived live, in seq order, once", async () => {
    const { api, follower, snapshots, output, settle } = setup([command("c1", "h1", { status: "running" })]);
    follower.start();
    await settle();
    expect(api.getCommand).toHaveBeenCalledWith("c1");
    output("c1", 1, "b\n");
    output("c1", 2, "c\n");
    snapshots["c1"]!([
      { seq: 0, stream: "stdout", data: "a\n" },
      { seq: 1, stream: "stdout", data: "b\n" },
    ]);
    await settle();
    expect(follower.lines.lines().map((l) => `${l.host} | ${l.text}`)).toEqual(["web-1 | a", "web-1 | b", "web-1 | c"]);
    follower.stop();
  });

  it("follows a queued command live only, and turns its last unfinished line into a line when it finishes", async () => {
    const { api, store, follower, output, settle } = setup([command("c1", "h1")]);
    follower.start();
    await settle();
    output("c1", 0, "one\ntwo");
    store.apply({
      type: "command_finished",
      id: "20",
      ts: 3,
      payload: { command_id: "c1", host_id: "h1", exit_code: 0, status: "succeeded" },
    });
    expect(api.getCommand).not.toHaveBeenCalled();
    expect(follower.lines.lines().map((l) => l.text)).toEqual(["one", "two"]);
    follower.stop();
  });
});
