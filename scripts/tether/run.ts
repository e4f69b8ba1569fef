/**
 * `tether run`: create a run over REST (CONTRACT §6), follow it, print each host's output
 * prefixed with its name, then a summary. An API token never opens a WebSocket (CONTRACT §4),
 * so progress is polled: `GET /api/runs/:id`, and `GET /api/commands/:id` for the output of
 * each command that has started and whose output is not all printed yet.
 */
import { FINAL_COMMAND_STATUSES, type Chunk, type Command, type Host, type Run } from "@tether/protocol";
import { UsageError, type RunOptions } from "./args";

/** Where the CLI writes: stdout lines and stderr lines. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The API refused a request: printed, exit 2. */
export class ApiError extends Error {}

/** Output fetches in flight at once. */
const FETCH_CONCURRENCY = 16;

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: "application/json",
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : null;
    if (res.ok) return json as T;
    const error = (json as { error?: string | { code?: string; message?: string } } | null)?.error;
    const what = typeof error === "string" ? error : error ? `${error.code ?? "error"}: ${error.message ?? ""}` : text.slice(0, 200);
    throw new ApiError(`${method} ${path}: ${res.status} ${what}`);
  }
}

/** `--host` values are host ids or names; a name must name exactly one host the token may see. */
export function resolveHosts(wanted: string[], hosts: Host[]): string[] {
  return wanted.map((w) => {
    if (hosts.some((h) => h.id === w)) return w;
    const named = hosts.filter((h) => h.name === w);
    if (named.length === 1) return named[0]!.id;
    throw new UsageError(named.length ? `--host ${w}: ${named.length} hosts have that name; give its id` : `--host ${w}: no such host`);
  });
}

/** A command's output so far, split into whole lines (the last partial line waits for the rest). */
class OutputPrinter {
  private printed = 0;
  private partial = "";

  constructor(
    private readonly prefix: string,
    private readonly io: Io,
  ) {}

  take(chunks: Chunk[]): void {
    for (const c of chunks) {
      if (c.seq < this.printed) continue;
      this.printed = c.seq + 1;
      const lines = (this.partial + c.data).split("\n");
      this.partial = lines.pop()!;
      for (const line of lines) this.print(line, c.stream);
    }
  }

  flush(): void {
    if (this.partial) this.print(this.partial, "stdout");
    this.partial = "";
  }

  private print(line: string, stream: Chunk["stream"]): void {
    const text = `${this.prefix} | ${line.replace(/\r$/, "")}`;
    if (stream === "stderr") this.io.err(text);
    else this.io.out(text);
  }
}

/** The summary table and the counts line; exit status 0 only when every host succeeded. */
export function summary(run: Run, commands: Command[], nameOf: (id: string) => string): { lines: string[]; exitCode: number } {
  const rows = commands.map((c) => [nameOf(c.host_id), c.status, c.exit_code === null ? "-" : String(c.exit_code)]);
  rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
  const header = ["HOST", "STATUS", "EXIT"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join("  ");
  const counts = Object.entries(run.counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
  const ok = commands.length > 0 && commands.every((c) => c.status === "succeeded");
  return {
    lines: [fmt(header), ...rows.map(fmt), `run ${run.id} ${run.status}: ${run.total} hosts, ${counts}`],
    exitCode: ok && run.status === "finished" ? 0 : 1,
  };
}

/** Run it; resolves with the exit status. `stop` (Ctrl-C) asks the API to cancel the run. */
export async function runCommand(
  opts: RunOptions,
  token: string,
  io: Io,
  interrupts: { onInterrupt(handler: () => void): void },
): Promise<number> {
  const api = new Api(opts.apiUrl, token);
  const { hosts } = await api.call<{ hosts: Host[] }>("GET", "/api/hosts");
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  const nameOf = (id: string) => names.get(id) ?? id;
  const target = {
    ...(opts.target.team_id ? { team_id: opts.target.team_id } : {}),
    ...(opts.target.hosts ? { host_ids: resolveHosts(opts.target.hosts, hosts) } : {}),
    ...(opts.target.labels ? { labels: opts.target.labels } : {}),
  };
  const { run: created } = await api.call<{ run: Run }>("POST", "/api/runs", {
    command: opts.command,
    args: opts.args,
    target,
    ...(opts.maxParallel !== undefined ? { max_parallel: opts.maxParallel } : {}),
    ...(opts.stopOnFailure ? { stop_on_failure: true } : {}),
    ...(opts.timeoutMs !== undefined ? { timeout_ms: opts.timeoutMs } : {}),
  });
  io.err(`tether: run ${created.id} on ${created.total} hosts`);
  interrupts.onInterrupt(() => {
    io.err("tether: cancelling the run (Ctrl-C again to stop waiting)");
    api.call("POST", `/api/runs/${created.id}/cancel`).catch((err: Error) => io.err(`tether: ${err.message}`));
  });

  const width = Math.max(...[...names.values()].map((n) => n.length), 1);
  const printers = new Map<string, OutputPrinter>();
  /** Commands whose output is all printed: final when their output was last read. */
  const done = new Set<string>();
  for (;;) {
    const { run, commands } = await api.call<{ run: Run; commands: Command[] }>("GET", `/api/runs/${created.id}`);
    const todo = commands.filter((c) => c.status !== "queued" && !done.has(c.id));
    if (!opts.quiet) {
      for (let i = 0; i < todo.length; i += FETCH_CONCURRENCY) {
        await Promise.all(
          todo.slice(i, i + FETCH_CONCURRENCY).map(async (c) => {
            const { command, output } = await api.call<{ command: Command; output: Chunk[] }>("GET", `/api/commands/${c.id}`);
            let printer = printers.get(c.id);
            if (!printer) printers.set(c.id, (printer = new OutputPrinter(nameOf(c.host_id).padEnd(width), io)));
            printer.take(output);
            // Final as of this read: nothing more will come.
            if (FINAL_COMMAND_STATUSES.has(command.status)) {
              printer.flush();
              done.add(c.id);
            }
          }),
        );
      }
    } else {
      for (const c of todo) if (FINAL_COMMAND_STATUSES.has(c.status)) done.add(c.id);
    }
    if (run.status !== "running" && commands.every((c) => done.has(c.id) || c.status === "queued" || opts.quiet)) {
      const s = summary(run, commands, nameOf);
      for (const line of s.lines) io.out(line);
      return s.exitCode;
    }
    // A poll interval (the token cannot open a WebSocket to wait on events).
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}
