import { CloseCode, ErrorCode } from "@tether/protocol";
import { FakeHub } from "./support/fake-hub";
import { startAgent, tempDir, type InProcessAgent } from "./support/harness";

describe("agent connection handling", () => {
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
    expect(hub.invalid).toEqual([]);
  });

  test("sends the Bearer token on the upgrade, and answers the hub's pings", async () => {
    agent = startAgent(hub, tmp.dir);
    const socket = await hub.connection(0);
    await socket.next("register");
    const pong = new Promise<string>((resolve) => socket.ws.once("pong", (data) => resolve(data.toString())));
    socket.ws.ping("are-you-there");
    expect(await pong).toBe("are-you-there");
  });

  test("no ping for 2.5 x --ping-interval: the link is declared dead and the agent reconnects", async () => {
    agent = startAgent(hub, tmp.dir, { argv: ["--ping-interval", "100"] });
    const first = await hub.connection(0);
    await first.next("register");
    const startedAt = Date.now();
    const second = await hub.connection(1); // the fake hub never pings
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(240);
    await second.next("register");
    await agent.logs.wait(/ warn link_dead reason="no ping from hub" waited_ms=250$/);
    expect((await first.closed).code).toBe(1006); // terminated, not closed politely: the link is presumed dead
  });

  test("pings keep the link alive and confirm delivery: confirmed frames are not resent after a reconnect", async () => {
    agent = startAgent(hub, tmp.dir, { argv: ["--allow-any", "--ping-interval", "1000"] });
    const first = await hub.connection(0);
    // Ping as a hub does, so the link stays alive however long `echo` takes to spawn on a loaded
    // machine (without, the agent declared it dead after 2.5 intervals and the pongs below never came).
    const pinging = setInterval(() => first.ws.readyState === first.ws.OPEN && first.ws.ping(), 100);
    try {
      first.send({ type: "command", payload: { command_id: "c1", command: "echo", args: ["hello"] } });
      await hub.waitFinished("c1");
    } finally {
      clearInterval(pinging);
    }
    // Two ping/pong rounds: the second ping proves the hub got the pong that followed c1's frames.
    for (let i = 0; i < 2; i++) {
      const pong = new Promise((resolve) => first.ws.once("pong", resolve));
      first.ws.ping();
      await pong;
    }
    first.ws.close(CloseCode.GOING_AWAY, "hub restarting");
    const second = await hub.connection(1);
    second.send({ type: "command", payload: { command_id: "barrier", command: "echo", args: ["b"] } });
    await second.next("command_finished", (f) => f.payload.command_id === "barrier");
    // Frames arrive in order: had c1's frames been resent, they would precede the barrier's.
    expect(
      second.frames
        .filter((f) => f.type !== "register" && f.type !== "heartbeat")
        .every((f) => "command_id" in f.payload && f.payload.command_id === "barrier"),
    ).toBe(true);
  });

  test("several --url: each reconnect tries the next hub in turn, so a dead node costs one attempt", async () => {
    const other = await new FakeHub().listen();
    try {
      const loaded = startAgent(hub, tmp.dir, { argv: ["--url", `${hub.url},${other.url}`], random: () => 0 });
      agent = loaded;
      expect(loaded.config.urls).toEqual([hub.url, other.url]);
      const a0 = await hub.connection(0);
      await a0.next("register");
      a0.ws.terminate(); // a hub that died without a close frame
      await (await other.connection(0)).next("register");
      (await other.connection(0)).ws.close(CloseCode.TRY_AGAIN_LATER, "busy");
      await (await hub.connection(1)).next("register"); // round-robin: back to the first
      const attempts = loaded.logs.lines.filter((l) => / info connecting /.test(l)).map((l) => /url=(\S+)/.exec(l)![1]);
      expect(attempts).toEqual([hub.url, other.url, hub.url]);
    } finally {
      await agent?.stop();
      agent = undefined;
      await other.close();
    }
  });

  test("close 1009 (a frame over the hub's limit): an error line names --max-message-bytes, then the usual backoff", async () => {
    agent = startAgent(hub, tmp.dir, { random: () => 0 });
    const first = await hub.connection(0);
    await first.next("register");
    first.ws.close(CloseCode.MESSAGE_TOO_BIG, "too big");
    await agent.logs.wait(/ error frame_too_big message=".*set --max-message-bytes to the hub's value"$/);
    await (await hub.connection(1)).next("register");
  });

  test("close 1001 (hub shutting down): reconnect at once, with at most 1 s of jitter", async () => {
    agent = startAgent(hub, tmp.dir, { random: () => 0.5 });
    const first = await hub.connection(0);
    await first.next("register");
    first.ws.close(CloseCode.GOING_AWAY, "bye");
    await agent.logs.wait(/ warn disconnected code=1001 reason=bye retry_in_ms=500$/);
    await (await hub.connection(1)).next("register");
  });

  test("a 503 with Retry-After (the hub's handshake queue is full): the agent waits at least that long", async () => {
    hub.busy = { count: 1, retryAfter: "1" };
    const started = Date.now();
    agent = startAgent(hub, tmp.dir, { random: () => 0.1 });
    await (await hub.connection(0)).next("register");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await agent.logs.wait(/ warn disconnected code=1006 http_status=503 retry_in_ms=1000$/);
  });

  test("close 1013 (overload): reconnect with growing, jittered backoff", async () => {
    agent = startAgent(hub, tmp.dir, { random: () => 0.1 });
    for (let i = 0; i < 3; i++) {
      const socket = await hub.connection(i);
      await socket.next("register");
      socket.ws.close(CloseCode.TRY_AGAIN_LATER, "busy");
    }
    await hub.connection(3);
    const delays = agent.logs.lines.filter((l) => l.includes("code=1013")).map((l) => Number(/retry_in_ms=(\d+)/.exec(l)![1]));
    expect(delays).toEqual([50, 100, 200]); // 0.1 x 500, 1000, 2000
  });

  test("an `unavailable` error from the hub makes the agent reconnect and resend what is unconfirmed", async () => {
    agent = startAgent(hub, tmp.dir, { argv: ["--allow-any"] });
    // The first connection "fails to store" c1's final frame and says so.
    hub.filter = (socket, frame) => {
      if (socket.index === 0 && frame.type === "command_finished") {
        socket.send({
          type: "error",
          payload: { code: ErrorCode.UNAVAILABLE, message: "could not store the frame; resend after reconnecting" },
        });
        return false;
      }
      return true;
    };
    const first = await hub.connection(0);
    first.send({ type: "command", payload: { command_id: "c1", command: "echo", args: ["x"] } });
    expect(await hub.waitFinished("c1")).toMatchObject({ status: "succeeded" });
    expect(hub.sockets.length).toBe(2);
    expect(hub.text("c1")).toBe("x\n");
  });
});
