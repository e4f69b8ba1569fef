import { CommandStatusSchema, FINAL_COMMAND_STATUSES } from "@tether/protocol";
import type { Command, CommandStatus, Run, RunStatus } from "@tether/protocol";

/**
 * What the run view shows, computed from the run (REST, `run_update`) and the commands of it
 * that the page knows (REST snapshot plus live `command_*` frames). Pure and DOM-free.
 */

/** Every command status, in the order the view lists them. */
export const COMMAND_STATUSES: readonly CommandStatus[] = CommandStatusSchema.options;

/** How a command of a run ended up, for the summary: exit 0, a non-zero exit, or anything else. */
export type Outcome = "succeeded" | "failed" | "other";

/** One host of the run, as its tile shows it. */
export interface RunTile {
  commandId: string;
  hostId: string;
  hostName: string;
  status: CommandStatus;
  exitCode: number | null;
  reason?: string | undefined;
}

/** The grid's tiles, by host name (then id). */
export function runTiles(commands: readonly Command[], hostName: (hostId: string) => string | undefined): RunTile[] {
  return commands
    .map((c) => ({
      commandId: c.id,
      hostId: c.host_id,
      hostName: hostName(c.host_id) ?? c.host_id,
      status: c.status,
      exitCode: c.exit_code,
      reason: c.reason,
    }))
    .sort((a, b) => a.hostName.localeCompare(b.hostName) || a.hostId.localeCompare(b.hostId));
}

/** Number of commands in each status (every status present). */
export function countStatuses(commands: Iterable<{ status: CommandStatus }>): Record<CommandStatus, number> {
  const counts = Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as Record<CommandStatus, number>;
  for (const c of commands) counts[c.status]++;
  return counts;
}

/** Counts and progress of a run. */
export interface RunProgress {
  counts: Record<CommandStatus, number>;
  total: number;
  /** Commands in a final status. */
  done: number;
  /** The run's status; `running` turns `finished` here as soon as every command is final. */
  status: RunStatus;
}

/**
 * The run's counts: from its commands when the page knows all of them (their frames are live,
 * `run_update` is coalesced), else from the run's own `counts`. The server's status wins once
 * it is final; before that, a run whose every command is final reads as finished (or cancelled,
 * when a cancel was asked) rather than waiting for the next `run_update`.
 */
export function runProgress(run: Run, commands: readonly Command[]): RunProgress {
  const fromCommands = commands.length >= run.total;
  const counts = fromCommands ? countStatuses(commands) : fillCounts(run.counts);
  let done = 0;
  for (const status of COMMAND_STATUSES) if (FINAL_COMMAND_STATUSES.has(status)) done += counts[status];
  const total = Math.max(run.total, commands.length);
  let status = run.status;
  if (status === "running" && total > 0 && done >= total) status = run.cancel_requested ? "cancelled" : "finished";
  return { counts, total, done, status };
}

function fillCounts(counts: Partial<Record<CommandStatus, number>>): Record<CommandStatus, number> {
  return Object.fromEntries(COMMAND_STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<CommandStatus, number>;
}

export function outcomeOf(status: CommandStatus): Outcome | undefined {
  if (!FINAL_COMMAND_STATUSES.has(status)) return undefined;
  if (status === "succeeded") return "succeeded";
  if (status === "failed") return "failed";
  return "other";
}

/** One line of the summary: commands with the same outcome, status and exit code. */
export interface SummaryGroup {
  outcome: Outcome;
  status: CommandStatus;
  exitCode: number | null;
  count: number;
  /** The hosts, by name. */
  hosts: { id: string; name: string }[];
}

/** The summary of a run: succeeded, failed, other, each grouped by exit code (final commands only). */
export interface RunSummary {
  succeeded: number;
  failed: number;
  other: number;
  groups: SummaryGroup[];
}

const OUTCOME_ORDER: Record<Outcome, number> = { succeeded: 0, failed: 1, other: 2 };

export function summarizeRun(tiles: readonly RunTile[]): RunSummary {
  const groups = new Map<string, SummaryGroup>();
  const totals = { succeeded: 0, failed: 0, other: 0 };
  for (const tile of tiles) {
    const outcome = outcomeOf(tile.status);
    if (!outcome) continue;
    totals[outcome]++;
    const key = `${outcome}\u0000${tile.status}\u0000${tile.exitCode ?? ""}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { outcome, status: tile.status, exitCode: tile.exitCode, count: 0, hosts: [] }));
    group.count++;
    group.hosts.push({ id: tile.hostId, name: tile.hostName });
  }
  const sorted = [...groups.values()].sort(
    (a, b) =>
      OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] ||
      a.status.localeCompare(b.status) ||
      (a.exitCode ?? Number.MAX_SAFE_INTEGER) - (b.exitCode ?? Number.MAX_SAFE_INTEGER),
  );
  return { ...totals, groups: sorted };
}

/** "all", or one command status: which tiles the grid shows. */
export type StatusFilter = "all" | CommandStatus;

export function filterTiles(tiles: readonly RunTile[], filter: StatusFilter): RunTile[] {
  return filter === "all" ? [...tiles] : tiles.filter((t) => t.status === filter);
}

/** "Running", "Finished", "Cancelled". */
export function runStatusLabel(status: RunStatus): string {
  return status.charAt(0).toUpperCase() + status.slice(1);
}
