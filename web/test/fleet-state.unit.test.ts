import type { Command, Host } from "@tether/protocol";
import { EMPTY_FLEET, commandsOfHost, evolve, forgetHost, rememberCommand, rememberHost, sortedHosts } from "../src/lib/fleet-state";
import type { FleetFrame, FleetState } from "../src/lib/fleet-state";

const host = (id: string, extra: Partial<Host> = {}): Host => ({ id, name: id, status: "offline", ...extra });
const command = (id: string, extra: Partial<Command> = {}): Command => ({
  id,
  host_id: "h1",
  command: "ls",
  args: [],
  status: "queued",
  created_at: 1000,
  exit_code: null,
  ...extra,
});

let seq = 0;
const meta = () => ({ id: `${++seq}`.padStart(6, "0"), ts: 5000 + seq });
const fold = (frames: FleetFrame[], from: FleetState = EMPTY_FLEET) => frames.reduce(evolve, from);

describe("evolve", () => {
  it("replaces every host on a `hosts` frame and marks the fleet loaded", () => {
    const before = fold([{ type: "hosts", ...meta(), payload: { hosts: [host("a"), host("b")] } }]);
    expect(before.loaded).toBe(true);
    const after = evolve(before, { type: "hosts", ...meta(), payload: { hosts: [host("c")] } });
    expect([...after.hosts.keys()]).toEqual(["c"]);
  });

  it("applies host_update and host_removed", () => {
    const state = fold([
      { type: "hosts", ...meta(), payload: { hosts: [host("a")] } },
      { type: "host_update", ...meta(), payload: { host: host("a", { status: "online", last_seen: 9 }) } },
      { type: "host_update", ...meta(), payload: { host: host("b") } },
      { type: "command_queued", ...meta(), payload: { command: command("c1", { host_id: "b" }) } },
      { type: "host_removed", ...meta(), payload: { host_id: "b" } },
    ]);
    expect(state.hosts.get("a")).toMatchObject({ status: "online", last_seen: 9 });
    expect(state.hosts.has("b")).toBe(false);
    expect(state.commands.has("c1")).toBe(false);
  });

  it("follows a command from queued to finished", () => {
    const queued = fold([{ type: "command_queued", ...meta(), payload: { command: command("c1") } }]);
    const started = evolve(queued, {
      type: "command_started",
      ...meta(),
      payload: { command: command("c1", { status: "running", started_at: 2000 }) },
    });
    const finished = evolve(started, {
      type: "command_finished",
      id: "x",
      ts: 2500,
      payload: { command_id: "c1", host_id: "h1", exit_code: 3, status: "failed" },
    });
    expect(finished.commands.get("c1")).toMatchObject({ status: "failed", exit_code: 3, started_at: 2000, finished_at: 2500 });
  });

  it("treats output of a queued command as proof it runs", () => {
    const state = fold([
      { type: "command_queued", ...meta(), payload: { command: command("c1") } },
      { type: "command_output", id: "y", ts: 3000, payload: { command_id: "c1", host_id: "h1", seq: 0, stream: "stdout", data: "hi" } },
    ]);
    expect(state.commands.get("c1")).toMatchObject({ status: "running", started_at: 3000 });
  });

  it("returns the same state for frames that change nothing visible", () => {
    const state = fold([{ type: "command_queued", ...meta(), payload: { command: command("c1", { status: "running" }) } }]);
    const output = { command_id: "c1", host_id: "h1", seq: 0, stream: "stdout" as const, data: "x" };
    expect(evolve(state, { type: "command_output", ...meta(), payload: output })).toBe(state);
    expect(evolve(state, { type: "command_output", ...meta(), payload: { ...output, command_id: "zz" } })).toBe(state);
    expect(evolve(state, { type: "host_removed", ...meta(), payload: { host_id: "nope" } })).toBe(state);
    expect(
      evolve(state, {
        type: "command_finished",
        ...meta(),
        payload: { command_id: "zz", host_id: "h1", exit_code: 0, status: "succeeded" },
      }),
    ).toBe(state);
  });

  it("never moves a finished command backwards (replayed or late frames)", () => {
    const done = fold([
      { type: "command_queued", ...meta(), payload: { command: command("c1") } },
      { type: "command_finished", ...meta(), payload: { command_id: "c1", host_id: "h1", exit_code: 0, status: "succeeded" } },
    ]);
    const replayed = fold(
      [
        { type: "command_started", ...meta(), payload: { command: command("c1", { status: "running" }) } },
        { type: "command_queued", ...meta(), payload: { command: command("c1") } },
      ],
      done,
    );
    expect(replayed.commands.get("c1")?.status).toBe("succeeded");
  });

  it("keeps commands on a plain `hosts` frame but drops them on a resync", () => {
    const state = fold([{ type: "command_queued", ...meta(), payload: { command: command("c1") } }]);
    const plain = evolve(state, { type: "hosts", ...meta(), payload: { hosts: [] } });
    expect(plain.commands.has("c1")).toBe(true);
    const resync = evolve(state, { type: "hosts", ...meta(), payload: { hosts: [host("z")], resync: true } });
    expect(resync.commands.size).toBe(0);
    expect([...resync.hosts.keys()]).toEqual(["z"]);
  });
});

describe("REST merges", () => {
  it("rememberHost never overwrites what the socket said", () => {
    const state = fold([{ type: "host_update", ...meta(), payload: { host: host("a", { status: "online" }) } }]);
    expect(rememberHost(state, host("a"))).toBe(state);
    expect(rememberHost(state, host("b")).hosts.get("b")?.status).toBe("offline");
  });

  it("rememberCommand keeps whichever copy is further along", () => {
    const running = rememberCommand(EMPTY_FLEET, command("c1", { status: "running" }));
    expect(rememberCommand(running, command("c1")).commands.get("c1")?.status).toBe("running");
    expect(rememberCommand(running, command("c1", { status: "cancelled" })).commands.get("c1")?.status).toBe("cancelled");
  });

  it("forgetHost drops the host and its commands", () => {
    const state = rememberCommand(rememberHost(EMPTY_FLEET, host("h1")), command("c1"));
    const after = forgetHost(state, "h1");
    expect(after.hosts.size + after.commands.size).toBe(0);
  });
});

describe("selectors", () => {
  it("sorts hosts by name and a host's commands newest first", () => {
    let state = [host("b", { name: "web-2" }), host("a", { name: "web-10" }), host("c", { name: "db" })].reduce(rememberHost, EMPTY_FLEET);
    expect(sortedHosts(state).map((h) => h.name)).toEqual(["db", "web-10", "web-2"]);
    state = [command("old", { created_at: 1 }), command("new", { created_at: 2 }), command("other", { host_id: "x" })].reduce(
      rememberCommand,
      state,
    );
    expect(commandsOfHost(state, "h1").map((c) => c.id)).toEqual(["new", "old"]);
  });
});
