import { FINAL_COMMAND_STATUSES } from "@tether/protocol";
import type { Command, Host, HubToBrowser, HostsFrame, LoggedEvent, Run } from "@tether/protocol";

/**
 * What the dashboard knows about the fleet, folded from hub frames. Immutable: `evolve`
 * returns the same object when nothing visible changed, so the store can skip re-rendering
 * (output frames, the bulk of the traffic, never change it).
 */
export interface FleetState {
  readonly hosts: ReadonlyMap<string, Host>;
  /** Commands seen in events (or loaded over REST), by id. */
  readonly commands: ReadonlyMap<string, Command>;
  /** A `hosts` frame has arrived: until then "no hosts" means "not known yet", not "none". */
  readonly loaded: boolean;
  /** Runs (CONTRACT §6) seen in `run_update` events or loaded over REST, by id. */
  readonly runs: ReadonlyMap<string, Run>;
}

export const EMPTY_FLEET: FleetState = { hosts: new Map(), commands: new Map(), loaded: false, runs: new Map() };

/** Frames that carry fleet state (everything a hub sends a browser but `error`). */
export type FleetFrame = HostsFrame | LoggedEvent;

export function isFleetFrame(frame: HubToBrowser): frame is FleetFrame {
  return frame.type !== "error";
}

/** Applies one frame. `hosts` replaces every host; commands survive unless it is a resync. */
export function evolve(state: FleetState, frame: FleetFrame): FleetState {
  switch (frame.type) {
    case "hosts": {
      const hosts = new Map(frame.payload.hosts.map((host) => [host.id, host]));
      // A resync means events were lost (log trimmed or Redis lost its data): nothing we
      // folded before can be trusted. Consoles refetch the commands they show.
      if (!frame.payload.resync) return { ...state, hosts, loaded: true };
      return { hosts, commands: new Map(), loaded: true, runs: new Map() };
    }
    case "host_update":
      return { ...state, hosts: withEntry(state.hosts, frame.payload.host.id, frame.payload.host) };
    case "host_removed": {
      const id = frame.payload.host_id;
      if (!state.hosts.has(id)) return state;
      const hosts = new Map(state.hosts);
      hosts.delete(id);
      const commands = new Map([...state.commands].filter(([, command]) => command.host_id !== id));
      return { ...state, hosts, commands };
    }
    case "command_queued":
    case "command_started":
      return putCommand(state, frame.payload.command);
    case "command_output": {
      // Output for a command we saw queued proves it runs, even if `command_started` is not
      // among the events we received.
      const known = state.commands.get(frame.payload.command_id);
      if (!known || known.status !== "queued") return state;
      return putCommand(state, { ...known, status: "running", started_at: known.started_at ?? frame.ts });
    }
    case "command_finished": {
      const { command_id, exit_code, status, reason } = frame.payload;
      const known = state.commands.get(command_id);
      if (!known) return state;
      const finished: Command = { ...known, status, exit_code, finished_at: known.finished_at ?? frame.ts };
      if (reason !== undefined) finished.reason = reason;
      return putCommand(state, finished);
    }
    case "run_update":
      return rememberRun(state, frame.payload.run);
    // Bookkeeping of the server's fold; browsers are not sent these (CONTRACT §6).
    case "run_released":
    case "run_cancelled":
      return state;
  }
}

/** Adds a host learnt over REST unless the socket already told us about it (its copy is fresher). */
export function rememberHost(state: FleetState, host: Host): FleetState {
  if (state.hosts.has(host.id)) return state;
  return { ...state, hosts: withEntry(state.hosts, host.id, host) };
}

/** Drops a host (removed over REST) before its `host_removed` event arrives. */
export function forgetHost(state: FleetState, hostId: string): FleetState {
  return evolve(state, { type: "host_removed", id: "", ts: 0, payload: { host_id: hostId } });
}

/** Adds or refreshes a command learnt over REST, keeping whichever copy is further along. */
export function rememberCommand(state: FleetState, command: Command): FleetState {
  const known = state.commands.get(command.id);
  if (known && progress(known) >= progress(command)) return state;
  return { ...state, commands: withEntry(state.commands, command.id, command) };
}

/**
 * Adds or refreshes a run, keeping whichever copy is further along: a final status never goes
 * back to `running`, and between two running copies the one with more finished commands wins
 * (a REST answer may be older than the last `run_update`).
 */
export function rememberRun(state: FleetState, run: Run): FleetState {
  const known = state.runs.get(run.id);
  if (known && runProgress(known) > runProgress(run)) return state;
  return { ...state, runs: withEntry(state.runs, run.id, run) };
}

/** Runs known, newest first. */
export function runsNewestFirst(state: FleetState): Run[] {
  return [...state.runs.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
}

/** Commands of one run, in no particular order. */
export function commandsOfRun(state: FleetState, runId: string): Command[] {
  return [...state.commands.values()].filter((command) => command.run_id === runId);
}

/** Commands of one host, newest first. */
export function commandsOfHost(state: FleetState, hostId: string): Command[] {
  return [...state.commands.values()]
    .filter((command) => command.host_id === hostId)
    .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
}

/** Hosts sorted by name, then id. */
export function sortedHosts(state: FleetState): Host[] {
  return [...state.hosts.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** A run's finished commands, plus `total` + 1 once the run itself is final. */
function runProgress(run: Run): number {
  let done = 0;
  for (const [status, n] of Object.entries(run.counts)) if (FINAL_COMMAND_STATUSES.has(status as Command["status"])) done += n ?? 0;
  return run.status === "running" ? done : run.total + 1 + done;
}

/** Queued < running < finished: a status never moves backwards. */
function progress(command: Command): number {
  if (FINAL_COMMAND_STATUSES.has(command.status)) return 2;
  return command.status === "running" ? 1 : 0;
}

function putCommand(state: FleetState, command: Command): FleetState {
  const known = state.commands.get(command.id);
  // Replayed or reordered events must not undo a finish (e.g. `command_started` after resume).
  if (known && progress(known) > progress(command)) return state;
  return { ...state, commands: withEntry(state.commands, command.id, command) };
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): Map<string, V> {
  const next = new Map(map);
  next.set(key, value);
  return next;
}
