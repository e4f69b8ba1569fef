import type { Chunk, Command, Host, Run } from "@tether/protocol";
import type { Api } from "./lib/api";
import {
  EMPTY_FLEET,
  commandsOfHost,
  commandsOfRun,
  evolve,
  forgetHost,
  rememberCommand,
  rememberHost,
  rememberRun,
  runsNewestFirst,
  sortedHosts,
} from "./lib/fleet-state";
import type { FleetFrame, FleetState } from "./lib/fleet-state";
import { FleetSocket } from "./lib/fleet-socket";
import type { ConnectionStatus, FleetSocketDeps } from "./lib/fleet-socket";
import type { LatencySummary } from "./lib/latency";

/** Output of one command as it streams in: `{seq, stream, data}` plus its command id. */
export type OutputListener = (chunk: Chunk) => void;

export interface FleetStoreDeps extends Pick<
  FleetSocketDeps,
  "url" | "createSocket" | "random" | "setTimer" | "clearTimer" | "now" | "log"
> {
  api: Pick<Api, "session">;
  /** The session is gone: show the login page. */
  onSessionLost(): void;
  /** The user's role or teams changed (the socket reconnects by itself with the new rights). */
  onRightsChanged?(): void;
}

/**
 * The one socket client every component shares (components attach through
 * `FleetController`). Folds hub frames into a {@link FleetState}, notifies subscribers when
 * hosts or commands change, and routes output chunks to the consoles that follow a command
 * without keeping them: output can be huge, and a console reloads it over REST.
 *
 * DOM-free on purpose, so its logic runs in unit tests with a fake socket.
 */
export class FleetStore {
  state: FleetState = EMPTY_FLEET;
  private readonly socket: FleetSocket;
  private readonly listeners = new Set<() => void>();
  private readonly outputListeners = new Map<string, Set<OutputListener>>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly now: () => number;

  constructor(deps: FleetStoreDeps) {
    this.now = deps.now ?? Date.now;
    this.socket = new FleetSocket({
      ...deps,
      onFrame: (frame) => this.apply(frame),
      onStatus: () => this.notify(),
      onUnauthorized: () => deps.onSessionLost(),
      onRightsChanged: () => deps.onRightsChanged?.(),
      checkSession: async () => (await deps.api.session()) !== null,
    });
  }

  get connection(): ConnectionStatus {
    return this.socket.status;
  }

  /** p50 / p99 of `ts` → received over the last minute, on the current connection. */
  latency(now = this.now()): LatencySummary {
    return this.socket.latency.summary(now);
  }

  /** Id of the last event received (where a reconnect resumes). */
  get lastEventId(): string | undefined {
    return this.socket.lastId;
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
  }

  retryNow(): void {
    this.socket.retryNow();
  }

  /** Calls `listener` after every change of hosts, commands or connection status. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with each live output chunk of one command, in arrival order. */
  onOutput(commandId: string, listener: OutputListener): () => void {
    let set = this.outputListeners.get(commandId);
    if (!set) this.outputListeners.set(commandId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.outputListeners.delete(commandId);
    };
  }

  /** Calls `listener` when events were lost (a `hosts` frame with `resync: true`). */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  host(id: string): Host | undefined {
    return this.state.hosts.get(id);
  }

  hosts(): Host[] {
    return sortedHosts(this.state);
  }

  command(id: string): Command | undefined {
    return this.state.commands.get(id);
  }

  commandsOf(hostId: string): Command[] {
    return commandsOfHost(this.state, hostId);
  }

  run(id: string): Run | undefined {
    return this.state.runs.get(id);
  }

  /** Runs this page has seen (live `run_update`s and REST answers), newest first. */
  runs(): Run[] {
    return runsNewestFirst(this.state);
  }

  /** Commands of one run that this page knows of. */
  commandsOfRun(runId: string): Command[] {
    return commandsOfRun(this.state, runId);
  }

  /** Records a run learnt over REST (create answer, run view, runs list). */
  rememberRun(run: Run): void {
    this.setState(rememberRun(this.state, run));
  }

  /** Records several commands learnt over REST at once (one notification). */
  rememberCommands(commands: Iterable<Command>): void {
    let next = this.state;
    for (const command of commands) next = rememberCommand(next, command);
    this.setState(next);
  }

  /** Records a host created over REST, before (or in case of no) `host_update`. */
  rememberHost(host: Host): void {
    this.setState(rememberHost(this.state, host));
  }

  forgetHost(hostId: string): void {
    this.setState(forgetHost(this.state, hostId));
  }

  /** Records a command learnt over REST (dispatch answer, console snapshot). */
  rememberCommand(command: Command): void {
    this.setState(rememberCommand(this.state, command));
  }

  /** Applies one frame; exposed for tests, the socket calls it. */
  apply(frame: FleetFrame): void {
    this.setState(evolve(this.state, frame));
    if (frame.type === "command_output") {
      const { command_id, seq, stream, data } = frame.payload;
      for (const listener of this.outputListeners.get(command_id) ?? []) listener({ seq, stream, data });
    } else if (frame.type === "hosts" && frame.payload.resync) {
      for (const listener of this.resyncListeners) listener();
    }
  }

  private setState(next: FleetState): void {
    if (next === this.state) return;
    this.state = next;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
