import type { Command, CommandStatus } from "@tether/protocol";

/** "just now", "3 s ago", "5 min ago", "2 h ago", "4 d ago". A future time (clock skew) is "just now". */
export function formatAgo(then: number, now: number): string {
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 1) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** "850 ms", "3.2 s", "2 min 5 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < 1000) return `${value} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(value / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${totalSeconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long a command has run so far (or ran), or undefined before it started. */
export function commandDuration(command: Command, now: number): number | undefined {
  const start = command.started_at ?? (command.status === "queued" ? undefined : command.created_at);
  if (start === undefined) return undefined;
  return (command.finished_at ?? now) - start;
}

const STATUS_LABELS: Record<CommandStatus, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  rejected: "Rejected",
  cancelled: "Cancelled",
  timed_out: "Timed out",
  expired: "Expired",
  lost: "Lost",
};

/** Human label for a command status. */
export function statusLabel(status: CommandStatus): string {
  return STATUS_LABELS[status];
}

/** The command as a user would type it: arguments with spaces or quotes are quoted. */
export function formatCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map(quoteArg).join(" ");
}

function quoteArg(arg: string): string {
  if (arg !== "" && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}
