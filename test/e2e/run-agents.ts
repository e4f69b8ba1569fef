/**
 * Scripted agents for the runs tests: real WebSockets to real hubs that answer each `command`
 * like the reference agent (one output line, then `command_finished`), remember what they ran
 * (a re-delivered id is not run again; a finished one gets its finish resent) and can hold
 * their answers until the test lets them go. They reconnect to another hub on demand. A
 * {@link Starts} shared by a fleet counts every start, so a test awaits "n started" as an event.
 */
import type { CommandFrame } from "@tether/protocol";
import { connectRegisteredAgent, type AgentSocket } from "../support/clients";
import { withTimeout } from "../support/wait";

/** Starts seen by a fleet of scripted agents, awaited as events. */
export class Starts {
  /** Every `command` frame that started something, in arrival order. */
  readonly frames: Array<CommandFrame["payload"] & { agentHostId: string }> = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  get count(): number {
    return this.frames.length;
  }

  record(frame: CommandFrame["payload"], agentHostId: string): void {
    this.frames.push({ ...frame, agentHostId });
    this.waiters = this.waiters.filter((w) => (this.count >= w.n ? (w.resolve(), false) : true));
  }

  /** Resolves once at least `n` commands started in all. */
  waitFor(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    const reached = new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
    return withTimeout(reached, timeoutMs, () => `only ${this.count} of ${n} commands started`);
  }
}

export interface ScriptedAgent {
  readonly name: string;
  readonly hostId: string;
  /** Command ids this agent started (each counted once per start). */
  readonly started: Map<string, number>;
  /** Hold answers (true) or answer at once (false); releasing answers what was held. */
  hold(on: boolean): void;
  /** Connect again (to `wsUrl`), e.g. after its hub was killed. */
  reconnect(wsUrl: string): Promise<void>;
  close(): Promise<void>;
}

export async function scriptedAgent(
  wsUrl: string,
  token: string,
  name: string,
  opts: { exitCode?: (name: string) => number; starts?: Starts } = {},
): Promise<ScriptedAgent> {
  const exitCode = opts.exitCode ?? (() => 0);
  const started = new Map<string, number>();
  const finished = new Map<string, { exit_code: number | null; status?: "cancelled" }>();
  const held: string[] = [];
  let holding = false;
  let socket: AgentSocket;
  let hostId = "";

  const finish = (id: string, result: { exit_code: number | null; status?: "cancelled" }) => {
    finished.set(id, result);
    socket.send({ type: "output", payload: { command_id: id, seq: 0, stream: "stdout", data: `${name} ran it\n` } });
    socket.send({ type: "command_finished", payload: { command_id: id, ...result } });
  };
  const onFrame = (raw: unknown) => {
    const frame = JSON.parse(String(raw)) as { type: string; payload: CommandFrame["payload"] };
    const id = frame.payload?.command_id;
    if (frame.type === "command") {
      const done = finished.get(id);
      if (done) return socket.send({ type: "command_finished", payload: { command_id: id, ...done } });
      if (started.has(id)) return; // still running: a re-delivery after a reconnect
      started.set(id, 1);
      opts.starts?.record(frame.payload, hostId);
      if (holding) held.push(id);
      else finish(id, { exit_code: exitCode(name) });
    } else if (frame.type === "cancel" && started.has(id) && !finished.has(id)) {
      const at = held.indexOf(id);
      if (at >= 0) held.splice(at, 1);
      finish(id, { exit_code: null, status: "cancelled" });
    }
  };
  const connect = async (url: string) => {
    const res = await connectRegisteredAgent(url, token, { hostname: name });
    socket = res.agent;
    hostId = res.hostId;
    socket.ws.on("message", onFrame);
  };
  await connect(wsUrl);
  return {
    name,
    get hostId() {
      return hostId;
    },
    started,
    hold(on) {
      holding = on;
      if (!on) for (const id of held.splice(0)) finish(id, { exit_code: exitCode(name) });
    },
    reconnect: (url) => connect(url),
    close: async () => void (await socket.close()),
  };
}
