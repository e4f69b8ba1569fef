import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CloseCode } from "@tether/protocol";
import { OPTIONS } from "../src/options";
import { FakeHub } from "./support/fake-hub";
import { spawnAgent, tempDir } from "./support/harness";

describe("tether-agent as a process", () => {
  let hub: FakeHub;
  let tmp: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    hub = await new FakeHub().listen();
    tmp = tempDir();
  });
  afterEach(async () => {
    await hub.close();
    tmp.cleanup();
  });

  test("bad options exit 2 with a message naming the option", async () => {
    const cases: [string[], RegExp][] = [
      [["--url", "ws://h/ws", "--token", "t", "--max-concurrent", "0"], /^tether-agent: invalid --max-concurrent: must be at least 1$/],
      [["--url", "ws://h/ws", "--token", "t", "--heartbeat-interval", "soon"], /invalid --heartbeat-interval: must be a number$/],
      [["--url", "http://h/ws", "--token", "t"], /invalid --url: must be a ws:\/\/ or wss:\/\/ URL$/],
      [["--url", "ws://h/ws", "--bogus"], /Unknown option '--bogus'/],
      [["--token", "t"], /missing required option --url/],
      [["--url", "ws://h/ws"], /missing token: give --token-file FILE, env TETHER_TOKEN, or --token/],
      [["--url", "ws://h/ws", "--token-file", "/nonexistent/token"], /--token-file: cannot read \/nonexistent\/token/],
    ];
    // In parallel: each is a whole Node process start.
    const results = await Promise.all(
      cases.map(async ([args]) => {
        const agent = spawnAgent(args);
        return { code: (await agent.exit).code, stderr: agent.stderr.lines.join("\n") };
      }),
    );
    results.forEach((result, i) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(cases[i]![1]);
    });
  });

  test("a bad value from the environment or the config file is named by its variable or key", async () => {
    const file = path.join(tmp.dir, "agent.json");
    writeFileSync(file, JSON.stringify({ url: "ws://h/ws", token: "t", kill_grace: -1 }));
    const fromFile = spawnAgent(["--config", file]);
    const fromEnv = spawnAgent([], { TETHER_URL: "ws://h/ws", TETHER_TOKEN: "t", TETHER_ALLOW_ANY: "maybe" });
    expect((await fromFile.exit).code).toBe(2);
    expect(fromFile.stderr.lines.join("\n")).toContain(`invalid "kill_grace" in config file ${file}: must be at least 0`);
    expect((await fromEnv.exit).code).toBe(2);
    expect(fromEnv.stderr.lines.join("\n")).toContain("invalid env TETHER_ALLOW_ANY: must be true or false");
  });

  test("--help lists every option and exits 0", async () => {
    const agent = spawnAgent(["--help"]);
    expect((await agent.exit).code).toBe(0);
    for (const spec of OPTIONS) expect(agent.stdout()).toContain(`--${spec.flag}`);
  });

  test("HTTP 401 on the upgrade: exits 3 saying the token was rejected, without logging the token", async () => {
    const agent = spawnAgent(["--url", hub.url, "--state-file", path.join(tmp.dir, "s.json")], { TETHER_TOKEN: "wrong-token" });
    expect((await agent.exit).code).toBe(3);
    const log = agent.stderr.lines.join("\n");
    expect(log).toMatch(/ error fatal message="token rejected \(HTTP 401\); not reconnecting" http_status=401/);
    expect(log).not.toContain("wrong-token");
    expect(hub.sockets).toHaveLength(0);
  });

  test.each([
    [CloseCode.REVOKED, 3, /credentials revoked/],
    [CloseCode.REPLACED, 4, /replaced by a newer agent/],
  ])("close %i: no reconnect, exits %i", async (code, exitCode, message) => {
    const tokenFile = path.join(tmp.dir, "token");
    writeFileSync(tokenFile, `${hub.token}\n`);
    const agent = spawnAgent(["--url", hub.url, "--token-file", tokenFile, "--state-file", path.join(tmp.dir, "s.json")]);
    const socket = await hub.connection(0);
    await socket.next("register");
    socket.ws.close(code, "bye");
    expect((await agent.exit).code).toBe(exitCode);
    expect(agent.stderr.lines.join("\n")).toMatch(message);
    expect(hub.sockets).toHaveLength(1);
  });

  test("restarted with the same state file, a redelivered command is answered, not run again; SIGTERM closes with 1000", async () => {
    const marker = path.join(tmp.dir, "ran");
    const config = path.join(tmp.dir, "agent.json");
    writeFileSync(config, JSON.stringify({ url: hub.url, commands: { mark: ["sh", "-c", `echo ran >> ${marker}; echo marked`] } }));
    const args = ["--config", config, "--state-file", path.join(tmp.dir, "state.json")];
    const command = { type: "command" as const, payload: { command_id: "c1", command: "mark", args: [] } };

    const first = spawnAgent(args, { TETHER_TOKEN: hub.token });
    await first.stderr.wait(/ info registered host_id=host-1$/);
    const s0 = await hub.connection(0);
    s0.send(command);
    expect(await hub.waitFinished("c1")).toEqual({ command_id: "c1", exit_code: 0, status: "succeeded" });
    first.child.kill("SIGTERM");
    expect((await s0.closed).code).toBe(1000);
    expect(await first.exit).toEqual({ code: 0, signal: null });

    const second = spawnAgent(args, { TETHER_TOKEN: hub.token });
    const s1 = await hub.connection(1);
    await s1.next("register");
    s1.send(command);
    expect((await s1.next("command_finished")).payload).toEqual({ command_id: "c1", exit_code: 0, status: "succeeded" });
    await second.stderr.wait(/command_duplicate command_id=c1 state=finished/);
    expect(s1.frames.some((f) => f.type === "output")).toBe(false);
    second.child.kill("SIGTERM");
    expect((await second.exit).code).toBe(0);
    expect(readFileSync(marker, "utf8")).toBe("ran\n"); // ran exactly once across both processes
  });

  test("a command still running at SIGTERM is stopped and reported cancelled before the socket closes", async () => {
    const agent = spawnAgent(["--url", hub.url, "--allow-any", "--kill-grace", "200", "--state-file", path.join(tmp.dir, "s.json")], {
      TETHER_TOKEN: hub.token,
    });
    const socket = await hub.connection(0);
    socket.send({ type: "command", payload: { command_id: "c1", command: "sh", args: ["-c", "echo started; sleep 30"] } });
    await socket.next("output");
    agent.child.kill("SIGTERM");
    expect(await hub.waitFinished("c1")).toMatchObject({ status: "cancelled", reason: "the agent is shutting down" });
    expect((await socket.closed).code).toBe(1000);
    expect((await agent.exit).code).toBe(0);
  });

  test("a command left running by a crashed agent is reported failed at the next start and never rerun", async () => {
    const stateFile = path.join(tmp.dir, "state.json");
    writeFileSync(stateFile, JSON.stringify({ version: 1, commands: [{ id: "c9", state: "running" }] }));
    const agent = spawnAgent(["--url", hub.url, "--allow-any", "--state-file", stateFile], { TETHER_TOKEN: hub.token });
    const socket = await hub.connection(0);
    expect((await socket.next("command_finished")).payload).toMatchObject({ command_id: "c9", status: "failed", exit_code: null });
    socket.send({ type: "command", payload: { command_id: "c9", command: "touch", args: [path.join(tmp.dir, "rerun")] } });
    await agent.stderr.wait(/command_duplicate command_id=c9 state=finished/);
    agent.child.kill("SIGTERM");
    expect((await agent.exit).code).toBe(0);
    expect(existsSync(path.join(tmp.dir, "rerun"))).toBe(false);
  });
});
