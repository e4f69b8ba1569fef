import { writeFileSync } from "node:fs";
import path from "node:path";
import { MetricsSchema, RegisterFrameSchema } from "@tether/protocol";
import { FakeHub } from "./support/fake-hub";
import { liveGroupMembers, startAgent, tempDir, waitUntil, type InProcessAgent } from "./support/harness";

describe("agent against a hub socket: identity and commands", () => {
  let hub: FakeHub;
  let tmp: ReturnType<typeof tempDir>;
  let agent: InProcessAgent | undefined;

  beforeEach(async () => {
    hub = await new FakeHub().listen();
    tmp = tempDir();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await hub.close();
    tmp.cleanup();
    expect(hub.invalid).toEqual([]); // every frame the agent sent matched the protocol
  });

  /** An agent with an allow-list written to its config file. */
  const withCommands = (commands: Record<string, string[]>, argv: string[] = [], env?: NodeJS.ProcessEnv) => {
    const file = path.join(tmp.dir, "agent.json");
    writeFileSync(file, JSON.stringify({ commands }));
    agent = startAgent(hub, tmp.dir, { argv: ["--config", file, ...argv], env });
    return agent;
  };

  test("registers with hostname, os, arch, version and labels, then heartbeats with metrics", async () => {
    agent = startAgent(hub, tmp.dir, {
      argv: ["--label", "env=test", "--label", "role=db", "--heartbeat-interval", "100", "--hostname", "box-1"],
    });
    const socket = await hub.connection(0);
    const register = RegisterFrameSchema.parse(await socket.next("register"));
    expect(register.payload).toEqual({
      hostname: "box-1",
      os: expect.stringMatching(/\S/),
      arch: process.arch,
      version: "0.1.0",
      labels: { env: "test", role: "db" },
    });
    await agent.logs.wait(/ info registered host_id=host-1$/);
    const first = await socket.next("heartbeat");
    const metrics = MetricsSchema.parse(first.payload.metrics);
    expect(metrics).toMatchObject({
      load_avg: [expect.any(Number), expect.any(Number), expect.any(Number)],
      mem_total_bytes: expect.any(Number),
      mem_free_bytes: expect.any(Number),
      uptime_s: expect.any(Number),
      disk_total_bytes: expect.any(Number),
      disk_free_bytes: expect.any(Number),
      disk_used_percent: expect.any(Number),
    });
    expect(metrics.mem_total_bytes as number).toBeGreaterThan(metrics.mem_free_bytes as number);
    // The interval works: another heartbeat follows without anything else happening.
    await socket.nextNew("heartbeat");
    // Frames before `registered` would be refused by the hub: register is first, heartbeat after.
    expect(socket.frames[0]!.type).toBe("register");
  });

  test("an allowed command runs from its argv template; output arrives in order with seq 0,1,2…", async () => {
    withCommands({ greet: ["sh", "-c", 'echo "$0 $*"; echo to-stderr >&2; echo done', "hi", "{a:re(.*)}", "{b:re(.*)}"] });
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "greet", args: ["a b", "c;rm -rf /"] } });
    const finished = await hub.waitFinished("c1");
    expect(finished).toEqual({ command_id: "c1", exit_code: 0, status: "succeeded" });
    // The args reached the program verbatim, as argv elements: no shell saw them.
    expect(hub.text("c1", "stdout")).toBe("hi a b c;rm -rf /\ndone\n");
    expect(hub.text("c1", "stderr")).toBe("to-stderr\n");
    const seqs = socket.frames.flatMap((f) => (f.type === "output" ? [f.payload.seq] : []));
    expect(seqs).toEqual(seqs.map((_, i) => i));
    // command_finished comes after the command's last output frame.
    expect(socket.frames.findIndex((f) => f.type === "command_finished")).toBeGreaterThan(
      socket.frames.map((f) => f.type).lastIndexOf("output"),
    );
    expect(hub.seqGaps).toEqual([]);
  });

  test("a command outside the allow-list, or args to a template without parameters, is rejected", async () => {
    withCommands({ uptime: ["uptime"] });
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "rm", args: ["-rf", "/"] } });
    socket.send({ type: "command", payload: { command_id: "c2", command: "uptime", args: ["--bogus"] } });
    socket.send({ type: "command", payload: { command_id: "c3", command: "constructor", args: [] } });
    expect(await hub.waitFinished("c1")).toEqual({
      command_id: "c1",
      exit_code: null,
      status: "rejected",
      reason: expect.stringContaining("not in this agent's allow-list"),
    });
    expect(await hub.waitFinished("c2")).toEqual({
      command_id: "c2",
      exit_code: null,
      status: "rejected",
      reason: expect.stringContaining("takes no arguments"),
    });
    expect((await hub.waitFinished("c3")).status).toBe("rejected");
    expect(hub.chunks("c1")).toEqual([]);
  });

  test("a program that cannot start fails with a reason; a non-zero exit is failed", async () => {
    withCommands({}, ["--allow-any"]);
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "/nonexistent/program", args: [] } });
    socket.send({ type: "command", payload: { command_id: "c2", command: "sh", args: ["-c", "exit 3"] } });
    expect(await hub.waitFinished("c1")).toEqual({
      command_id: "c1",
      exit_code: null,
      status: "failed",
      reason: expect.stringContaining("ENOENT"),
    });
    expect(await hub.waitFinished("c2")).toEqual({ command_id: "c2", exit_code: 3, status: "failed" });
  });

  test("cancel stops the whole process group with SIGTERM and reports cancelled", async () => {
    withCommands({}, ["--allow-any"]);
    const socket = await hub.connection(0);
    // $$ is the shell: it leads the group; the background sleep must die with it.
    socket.send({ type: "command", payload: { command_id: "c1", command: "sh", args: ["-c", "sleep 30 & echo $$; sleep 30"] } });
    const first = await socket.next("output", (f) => f.payload.command_id === "c1");
    const pgid = Number(first.payload.data.trim());
    expect(liveGroupMembers(pgid).length).toBeGreaterThanOrEqual(3); // sh and both sleeps
    socket.send({ type: "cancel", payload: { command_id: "c1" } });
    const finished = await hub.waitFinished("c1");
    expect(finished).toMatchObject({ command_id: "c1", status: "cancelled", exit_code: null });
    await waitUntil(() => liveGroupMembers(pgid).length === 0, 2000, `process group ${pgid} to die`);
  });

  test("a group that ignores SIGTERM gets SIGKILL after the grace period", async () => {
    withCommands({}, ["--allow-any", "--kill-grace", "300"]);
    const socket = await hub.connection(0);
    // An ignored signal stays ignored across fork and exec: both processes shrug off SIGTERM.
    socket.send({ type: "command", payload: { command_id: "c1", command: "sh", args: ["-c", "trap '' TERM; echo $$; sleep 30"] } });
    const pgid = Number((await socket.next("output")).payload.data.trim());
    const cancelledAt = Date.now();
    socket.send({ type: "cancel", payload: { command_id: "c1" } });
    expect(await hub.waitFinished("c1")).toMatchObject({ status: "cancelled", exit_code: null });
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(290);
    await waitUntil(() => liveGroupMembers(pgid).length === 0, 2000, `process group ${pgid} to die`);
  });

  test("timeout_ms stops a command and reports timed_out", async () => {
    withCommands({ nap: ["sleep", "30"] });
    const socket = await hub.connection(0);
    const sentAt = Date.now();
    socket.send({ type: "command", payload: { command_id: "c1", command: "nap", args: [], timeout_ms: 1000 } });
    expect(await hub.waitFinished("c1")).toEqual({
      command_id: "c1",
      exit_code: null,
      status: "timed_out",
      reason: "timed out after 1000 ms",
    });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(990);
  });

  test("--command-timeout applies to a command without timeout_ms", async () => {
    withCommands({ nap: ["sleep", "30"] }, ["--command-timeout", "200"]);
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "nap", args: [] } });
    expect(await hub.waitFinished("c1")).toMatchObject({ status: "timed_out" });
  });

  test("--max-concurrent 1 queues the second command until the first finished", async () => {
    withCommands({}, ["--allow-any", "--max-concurrent", "1"]);
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "sh", args: ["-c", "echo one; sleep 0.2; echo one-end"] } });
    socket.send({ type: "command", payload: { command_id: "c2", command: "echo", args: ["two"] } });
    await hub.waitFinished("c2");
    const order = socket.frames.flatMap((f) =>
      f.type === "command_finished" ? [f.payload.command_id] : f.type === "output" ? [`${f.payload.command_id}:out`] : [],
    );
    expect(order.indexOf("c1")).toBeLessThan(order.indexOf("c2:out"));
    expect(hub.text("c1")).toBe("one\none-end\n");
    expect(hub.text("c2")).toBe("two\n");
  });

  test("a command redelivered while it runs (or after) is not run again", async () => {
    withCommands({}, ["--allow-any"]);
    const socket = await hub.connection(0);
    const frame = { type: "command" as const, payload: { command_id: "c1", command: "sh", args: ["-c", "echo ran; sleep 0.2"] } };
    socket.send(frame);
    await socket.next("output");
    socket.send(frame); // while running: ignored
    await hub.waitFinished("c1");
    socket.send(frame); // after: its command_finished again, nothing run
    await agent!.logs.waitNew(/command_duplicate command_id=c1 state=finished/);
    await socket.nextNew("command_finished");
    expect(hub.text("c1")).toBe("ran\n");
    expect(hub.finishes("c1")).toEqual([
      { command_id: "c1", exit_code: 0, status: "succeeded" },
      { command_id: "c1", exit_code: 0, status: "succeeded" },
    ]);
  });

  test("the child's environment has no TETHER_* variables and no token", async () => {
    const env = { PATH: process.env.PATH, KEEP_ME: "yes", TETHER_TOKEN: hub.token, TETHER_URL: hub.url, SNEAKY: `x${hub.token}` };
    withCommands({ env: ["env"] }, [], env);
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "env", args: [] } });
    await hub.waitFinished("c1");
    const out = hub.text("c1");
    expect(out).toContain("KEEP_ME=yes");
    expect(out).not.toContain("TETHER_");
    expect(out).not.toContain(hub.token);
    expect(agent!.logs.lines.join("\n")).not.toContain(hub.token);
  });
});
