/**
 * The `tether` CLI's command line (pure): `tether run [flags] COMMAND [ARG…]`. Parsed with
 * node:util's parseArgs, then checked by zod like every other input from outside.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { CommandArgsSchema, CommandTextSchema, LabelsSchema, TeamIdSchema, TimeoutMsSchema } from "@tether/protocol";

export const USAGE = `usage: tether run [options] COMMAND [ARG...]

Runs COMMAND (with ARGs) on every host matching all the given target options (CONTRACT §6),
prints each host's output as "host | line", then a summary. Exit status: 0 when every host
succeeded, 1 when any did not, 2 on a usage error or a request the API refused.

target (at least one):
  --team TEAM            hosts of this team
  --host ID_OR_NAME      this host (repeatable)
  --label KEY=VALUE      hosts with this label (repeatable: all must match)
options:
  --max-parallel N       at most N hosts run it at once (a rolling window)
  --stop-on-failure      the first failure cancels what has not started
  --timeout DURATION     per-host timeout: 90, 90s, 5m, 1500ms (1 s to 24 h)
  --api URL              the API (default TETHER_API_URL, else http://127.0.0.1:8000)
  --poll-interval MS     how often to poll for progress (default 500)
  --quiet                no output lines, only the summary
the API token comes from TETHER_API_TOKEN (an API token, tta_…, of an operator or admin).`;

/** A usage error: printed with the usage, exit 2. */
export class UsageError extends Error {}

export interface RunOptions {
  command: string;
  args: string[];
  target: { team_id?: string; hosts?: string[]; labels?: Record<string, string> };
  maxParallel?: number;
  stopOnFailure: boolean;
  timeoutMs?: number;
  apiUrl: string;
  pollMs: number;
  quiet: boolean;
}

/** `90` / `90s` seconds, `5m` minutes, `1h`, `1500ms`: milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout: not a duration: ${text} (e.g. 90, 90s, 5m, 1500ms)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * factor);
}

const field = <T>(schema: z.ZodType<T>, value: unknown, name: string): T => {
  const res = schema.safeParse(value);
  if (!res.success) throw new UsageError(`${name}: ${res.error.issues[0]?.message ?? "invalid"}`);
  return res.data;
};

/** Parse `argv` (after the program name) and `env`; throws {@link UsageError}. `null`: help asked. */
export function parseRunArgs(argv: string[], env: Record<string, string | undefined>): RunOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        team: { type: "string" },
        host: { type: "string", multiple: true },
        label: { type: "string", multiple: true },
        "max-parallel": { type: "string" },
        "stop-on-failure": { type: "boolean", default: false },
        timeout: { type: "string" },
        api: { type: "string" },
        "poll-interval": { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  const [verb, command, ...args] = positionals;
  if (verb !== "run") throw new UsageError(verb === undefined ? "no subcommand (run)" : `unknown subcommand: ${verb}`);
  if (command === undefined) throw new UsageError("no COMMAND to run");
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const at = l.indexOf("=");
    if (at <= 0) throw new UsageError(`--label: expected KEY=VALUE, got ${l}`);
    labels[l.slice(0, at)] = l.slice(at + 1);
  }
  const target: RunOptions["target"] = {};
  if (values.team !== undefined) target.team_id = field(TeamIdSchema, values.team, "--team");
  if (values.host?.length) target.hosts = values.host;
  if (Object.keys(labels).length) target.labels = field(LabelsSchema, labels, "--label");
  if (!target.team_id && !target.hosts && !target.labels) throw new UsageError("no target: give --team, --host or --label");
  const int = (name: string, text: string | undefined, min: number) =>
    text === undefined ? undefined : field(z.coerce.number().int().min(min), text, name);
  const apiUrl = values.api ?? env.TETHER_API_URL ?? "http://127.0.0.1:8000";
  field(z.url({ protocol: /^https?$/ }), apiUrl, "--api");
  const timeout = values.timeout === undefined ? undefined : parseDuration(values.timeout);
  return {
    command: field(CommandTextSchema, command, "COMMAND"),
    args: field(CommandArgsSchema, args, "ARG"),
    target,
    maxParallel: int("--max-parallel", values["max-parallel"], 1),
    stopOnFailure: values["stop-on-failure"],
    timeoutMs: timeout === undefined ? undefined : field(TimeoutMsSchema, timeout, "--timeout"),
    apiUrl: apiUrl.replace(/\/+$/, ""),
    pollMs: int("--poll-interval", values["poll-interval"], 10) ?? 500,
    quiet: values.quiet,
  };
}
