import type { Chunk, Host } from "@tether/protocol";
import { FleetStore } from "../src/fleet-store";
import type { SocketLike } from "../src/lib/fleet-socket";

/** A socket the test opens, feeds and closes by hand. */
class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closedWith: number | undefined;
  constructor(readonly url: string) {}
  open(): void {
    this.onopen?.({});
  }
  send(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  drop(code: number): void {
    this.onclose?.({ code, reason: "" });
  }
  close(code?: number): void {
    this.closedWith = code;
  }
}

function setup(options: { sessionAlive?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  let now = 0;
  const sessionLost = jest.fn();
  const rightsChanged = jest.fn();
  const session = jest.fn(async () => (options.sessionAlive === false ? null : { id: "u", username: "admin" }));
  const store = new FleetStore({
    url: (after) => `ws://test/ws${after ? `?after=${after}` : ""}`,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    api: { session },
    onSessionLost: sessionLost,
    onRightsChanged: rightsChanged,
    random: () => 0.5,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => {},
    now: () => now,
  });
  const last = () => sockets.at(-1) as FakeSocket;
  /** Runs the most recent timer (the pending reconnect). */
  const fire = () => (timers.pop() as { fn: () => void }).fn();
  return { store, sockets, timers, last, fire, sessionLost, rightsChanged, session, tick: (ms: number) => (now += ms) };
}

const host = (id: string, status: Host["status"] = "offline"): Host => ({ id, name: id, status });
const hostsFrame = (id: string, hosts: Host[], resync?: boolean) => ({
  type: "hosts",
  id,
  ts: 1,
  payload: { hosts, ...(resync ? { resync } : {}) },
});
const update = (id: string, h: Host) => ({ type: "host_update", id, ts: 2, payload: { host: h } });
const output = (id: string, command_id: string, seq: number) => ({
  type: "command_output",
  id,
  ts: 3,
  payload: { command_id, host_id: "h", seq, stream: "stdout", data: `${seq}\n` },
});

describe("FleetStore", () => {
  it("goes live, folds frames and notifies subscribers", () => {
    const { store, last } = setup();
    const changes = jest.fn();
    store.subscribe(changes);
    store.start();
    expect(store.connection).toBe("connecting");
    expect(last().url).toBe("ws://test/ws");
    last().open();
    expect(store.connection).toBe("live");
    last().send(hostsFrame("1-0", [host("a")]));
    last().send(update("1-1", host("a", "online")));
    expect(store.host("a")?.status).toBe("online");
    expect(store.lastEventId).toBe("1-1");
    expect(changes).toHaveBeenCalledTimes(4); // connecting, live, hosts, host_update
  });

  it("resumes with ?after= the last id after a drop, with backoff", () => {
    const { store, last, timers, fire } = setup();
    store.start();
    last().open();
    last().send(hostsFrame("1-0", []));
    last().send(update("1-5", host("a", "online")));
    last().drop(1006);
    expect(store.connection).toBe("reconnecting");
    expect(timers.at(-1)?.ms).toBe(250); // attempt 0: 0.5 × 500
    fire();
    expect(last().url).toBe("ws://test/ws?after=1-5");
    last().open();
    expect(store.connection).toBe("live");
  });

  it("backs off harder on repeated failures and on 1013, and comes back fast on 1001", () => {
    const { store, last, timers, fire, tick } = setup();
    store.start();
    last().drop(1006);
    fire();
    last().drop(1006);
    expect(timers.at(-1)?.ms).toBe(500); // attempt 1: 0.5 × 1000
    fire();
    last().open();
    tick(60_000); // a long, healthy connection resets the backoff…
    last().drop(1013);
    expect(timers.at(-1)?.ms).toBe(2000); // …but an overloaded hub still gets 0.5 × 4000
    fire();
    last().open();
    last().drop(1001);
    expect(timers.at(-1)?.ms).toBe(500); // going away: 0.5 × 1 s of jitter
  });

  it("treats close 4401 as a lost session and never reconnects", () => {
    const { store, last, timers, sessionLost } = setup();
    store.start();
    last().open();
    last().drop(4401);
    expect(sessionLost).toHaveBeenCalledTimes(1);
    expect(store.connection).toBe("stopped");
    expect(timers).toHaveLength(0);
  });

  it("on 4403 (rights changed) reconnects soon without ?after=, so the new snapshot drops hosts no longer visible", () => {
    const { store, last, timers, fire, rightsChanged, sessionLost } = setup();
    store.start();
    last().open();
    last().send(hostsFrame("1-0", [host("a"), host("b")]));
    last().send(update("1-7", host("b", "online")));
    last().drop(4403);
    expect(rightsChanged).toHaveBeenCalledTimes(1);
    expect(sessionLost).not.toHaveBeenCalled();
    expect(store.connection).toBe("reconnecting");
    expect(timers.at(-1)?.ms).toBe(500); // at once, with the going-away jitter (0.5 × 1 s)
    fire();
    expect(last().url).toBe("ws://test/ws"); // no after: a fresh snapshot
    last().open();
    last().send(hostsFrame("1-9", [host("a")]));
    expect(store.hosts().map((h) => h.id)).toEqual(["a"]);
  });

  it("asks the API after a refused upgrade, since a browser cannot see the 401", async () => {
    const { store, last, sessionLost, session } = setup({ sessionAlive: false });
    store.start();
    last().drop(1006);
    await new Promise((resolve) => setImmediate(resolve));
    expect(session).toHaveBeenCalled();
    expect(sessionLost).toHaveBeenCalledTimes(1);
    expect(store.connection).toBe("stopped");
  });

  it("keeps retrying when the session is fine", async () => {
    const { store, last, sessionLost } = setup({ sessionAlive: true });
    store.start();
    last().drop(1006);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sessionLost).not.toHaveBeenCalled();
    expect(store.connection).toBe("reconnecting");
  });

  it("ignores invalid frames and error frames (which do not move the resume point)", () => {
    const { store, last } = setup();
    store.start();
    last().open();
    last().send(hostsFrame("1-0", []));
    last().send("not json");
    last().send({ type: "host_update", id: "1-1", ts: 1, payload: { host: { id: "x" } } });
    last().send({ type: "error", payload: { code: "invalid_message", message: "bad" } });
    expect(store.lastEventId).toBe("1-0");
    expect(store.hosts()).toEqual([]);
  });

  it("routes output to the consoles following that command only", () => {
    const { store, last } = setup();
    const seen: Chunk[] = [];
    const off = store.onOutput("c1", (chunk) => seen.push(chunk));
    store.start();
    last().open();
    last().send(output("1", "c1", 0));
    last().send(output("2", "c2", 0));
    off();
    last().send(output("3", "c1", 1));
    expect(seen).toEqual([{ seq: 0, stream: "stdout", data: "0\n" }]);
  });

  it("replaces its state and tells consoles on a resync", () => {
    const { store, last } = setup();
    const resync = jest.fn();
    store.onResync(resync);
    store.start();
    last().open();
    last().send(hostsFrame("1-0", [host("a")]));
    store.rememberCommand({ id: "c1", host_id: "a", command: "ls", args: [], status: "running", created_at: 1, exit_code: null });
    last().send(hostsFrame("9-0", [host("b")], true));
    expect(store.hosts().map((h) => h.id)).toEqual(["b"]);
    expect(store.command("c1")).toBeUndefined();
    expect(resync).toHaveBeenCalledTimes(1);
  });

  it("stop() closes the socket and cancels reconnects", () => {
    const { store, last } = setup();
    store.start();
    const socket = last();
    socket.open();
    store.stop();
    expect(socket.closedWith).toBe(1000);
    expect(store.connection).toBe("stopped");
  });
});

describe("FleetStore latency", () => {
  it("measures ts → received of events (not the hosts snapshot) on the current connection only", () => {
    const { store, last, fire, tick } = setup();
    store.start();
    last().open();
    tick(1000);
    last().send(hostsFrame("1-0", [host("a")])); // ts 1, read 999 ms ago: a snapshot, not counted
    expect(store.latency()).toEqual({ count: 0 });
    last().send({ ...update("2-0", host("a", "online")), ts: 990 }); // 10 ms
    last().send({ ...output("3-0", "c", 0), ts: 960 }); // 40 ms
    expect(store.latency()).toEqual({ count: 2, p50: 10, p99: 40 });
    // A new connection starts afresh: its figures are its own.
    last().drop(1001);
    fire();
    last().open();
    expect(store.latency()).toEqual({ count: 0 });
  });
});
