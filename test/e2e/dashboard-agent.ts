/**
 * The reference agent (packages/agent) as a real child process for the dashboard test: token
 * in a file (never on the command line), `--allow-any`, its own state file, and its log lines
 * (`<ISO time> <level> <event> key=value …` on stderr) kept for waiting and for error messages.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readLines, signalOwned, spawnOwned, type ExitInfo } from "../support/children";
import { tail, withTimeout } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");

/** A log line of the agent, parsed. */
export interface AgentLogLine {
  /** The line's own timestamp (ms since the epoch), written by the agent when the event happened. */
  at: number;
  level: string;
  event: string;
  fields: Record<string, string>;
  raw: string;
}

/** A running agent. */
export interface AgentProcess {
  readonly pid: number;
  /** Every log line so far. */
  readonly lines: readonly AgentLogLine[];
  /**
   * The first line of this event (and matching `where`) from index `from` on (default 0), waiting
   * for it when needed; rejects on timeout or when the agent exits first.
   */
  waitFor(event: string, options?: { from?: number; where?: (line: AgentLogLine) => boolean; timeoutMs?: number }): Promise<AgentLogLine>;
  /** SIGTERM (the agent stops its commands and closes with 1000), then awaits the exit. */
  stop(): Promise<ExitInfo>;
}

/** Options of {@link startAgent}. */
export interface AgentOptions {
  url: string;
  token: string;
  hostname: string;
  labels?: Record<string, string>;
  /** An allow-list (the config file's `"commands"`: name → argv template), given in a config file. */
  commands?: Record<string, string[]>;
  /** `--allow-any` (default true). */
  allowAny?: boolean;
}

function parseLine(raw: string): AgentLogLine | undefined {
  const match = /^(\S+) (debug|info|warn|error) (\S+)(.*)$/.exec(raw);
  if (!match) return undefined;
  const fields: Record<string, string> = {};
  for (const [, key, quoted, plain] of match[4]!.matchAll(/ (\w+)=(?:("(?:[^"\\]|\\.)*")|(\S*))/g)) {
    fields[key!] = quoted !== undefined ? (JSON.parse(quoted) as string) : plain!;
  }
  return { at: Date.parse(match[1]!), level: match[2]!, event: match[3]!, fields, raw };
}

/** Starts the agent; resolves at once (wait for `connected`/`registered` with {@link AgentProcess.waitFor}). */
export function startAgent(options: AgentOptions): AgentProcess {
  const dir = mkdtempSync(path.join(tmpdir(), "tether-dash-agent-"));
  const tokenFile = path.join(dir, "token");
  writeFileSync(tokenFile, `${options.token}\n`, { mode: 0o600 });
  const configFile = path.join(dir, "agent.json");
  if (options.commands) writeFileSync(configFile, JSON.stringify({ commands: options.commands }));
  const args = [
    "--import",
    "tsx",
    path.join(ROOT, "packages/agent/src/main.ts"),
    "--url",
    options.url,
    "--token-file",
    tokenFile,
    ...(options.allowAny === false ? [] : ["--allow-any"]),
    ...(options.commands ? ["--config", configFile] : []),
    "--hostname",
    options.hostname,
    "--state-file",
    path.join(dir, "state.json"),
    ...Object.entries(options.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
  ];
  // Plain node with tsx as a loader (not the tsx CLI, which forks): the pid we signal is the agent.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TETHER_")));
  const owned = spawnOwned(process.execPath, args, { cwd: ROOT, env });
  const lines: AgentLogLine[] = [];
  const raw: string[] = [];
  const watchers = new Set<() => void>();
  readLines(owned.child, (line) => {
    raw.push(line);
    if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`[agent] ${line}\n`);
    const parsed = parseLine(line);
    if (parsed) lines.push(parsed);
    for (const watcher of watchers) watcher();
  });
  const exited = owned.exited.finally(() => rmSync(dir, { recursive: true, force: true }));

  return {
    pid: owned.pid,
    lines,
    waitFor(event, { from = 0, where = () => true, timeoutMs = 10_000 } = {}) {
      const find = () => lines.slice(from).find((line) => line.event === event && where(line));
      let watcher: (() => void) | undefined;
      const found = new Promise<AgentLogLine>((resolve, reject) => {
        watcher = () => {
          const line = find();
          if (line) resolve(line);
        };
        watchers.add(watcher);
        watcher();
        void exited.then((info) =>
          reject(new Error(`the agent exited (${JSON.stringify(info)}) before logging "${event}":\n${tail(raw)}`)),
        );
      });
      return withTimeout(found, timeoutMs, () => `the agent logged no "${event}" line; its log:\n${tail(raw)}`).finally(
        () => watcher && watchers.delete(watcher),
      );
    },
    async stop() {
      signalOwned(owned, "SIGTERM");
      return withTimeout(exited, 10_000, () => `the agent (pid ${owned.pid}) did not exit on SIGTERM; its log:\n${tail(raw)}`).catch(
        (err: unknown) => {
          signalOwned(owned, "SIGKILL");
          throw err;
        },
      );
    },
  };
}
