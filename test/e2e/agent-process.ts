/**
 * The reference agent (packages/agent) as a real child process for e2e tests, awaited through
 * its documented log lines (README "Logs": one line per event on stderr).
 *
 * It runs through its published bin, `node packages/agent/bin/tether-agent.js`, which loads tsx
 * in the same process. Not through the `tsx` CLI: that is a wrapper that runs the script in a
 * second process, so a `kill -9` (and a /proc reading) would hit the wrapper, not the agent.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readLines, signalOwned, spawnOwned, type ExitInfo } from "../support/children";
import { tail, withTimeout } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");
/** The agent's bin, as an operator runs it. */
export const AGENT_BIN = path.join(ROOT, "packages/agent/bin/tether-agent.js");

/** A running (or exited) agent process. */
export interface AgentProcess {
  readonly pid: number;
  /** Every stderr (log) and stdout line so far, stdout lines prefixed `[stdout] `. */
  lines(): string[];
  /**
   * The first log line matching `match`: already printed, or (with `fresh`) printed after this
   * call. Rejects on timeout or when the agent exits first, with its last lines.
   */
  waitForLine(match: RegExp, timeoutMs?: number, options?: { fresh?: boolean }): Promise<string>;
  /** Resolves with the exit; rejects after `timeoutMs` with the last lines. */
  waitForExit(timeoutMs?: number): Promise<ExitInfo>;
  /** Sends a signal (SIGTERM, SIGKILL, …) unless it already exited. */
  signal(signal: NodeJS.Signals): void;
  readonly exitInfo: ExitInfo | undefined;
}

/**
 * Spawns the agent with `args`. The environment is PATH and HOME plus `env`: no TETHER_* from the
 * shell running the tests, and the token only ever in a file or in `env` (never in argv).
 */
export function spawnAgentProcess(args: readonly string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawnOwned(process.execPath, [AGENT_BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? os.tmpdir(), ...env },
  });
  const all: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const verbose = process.env.TETHER_TEST_VERBOSE === "1";
  readLines(child.child, (raw, stream) => {
    const line = stream === "stdout" ? `[stdout] ${raw}` : raw;
    all.push(line);
    if (verbose) process.stderr.write(`[agent ${child.pid}] ${line}\n`);
    for (const watcher of watchers) watcher(line);
  });
  const exited = child.exited.catch((err: unknown): ExitInfo => {
    all.push(`[harness] spawn failed: ${String(err)}`);
    return { code: null, signal: null };
  });
  const name = `agent (pid ${child.pid})`;
  return {
    pid: child.pid,
    lines: () => [...all],
    waitForLine(match, timeoutMs = 10_000, options = {}) {
      if (!options.fresh) {
        const seen = all.find((line) => match.test(line));
        if (seen !== undefined) return Promise.resolve(seen);
      }
      let watcher: ((line: string) => void) | undefined;
      const found = new Promise<string>((resolve, reject) => {
        watcher = (line) => match.test(line) && resolve(line);
        watchers.add(watcher);
        void exited.then((info) =>
          reject(new Error(`${name} exited (${JSON.stringify(info)}) before logging ${String(match)}:\n${tail(all)}`)),
        );
      });
      return withTimeout(found, timeoutMs, () => `${name} logged no line matching ${String(match)}; its log:\n${tail(all)}`).finally(
        () => watcher && watchers.delete(watcher),
      );
    },
    waitForExit(timeoutMs = 10_000) {
      return withTimeout(exited, timeoutMs, () => `${name} did not exit; its log:\n${tail(all)}`);
    },
    signal: (signal) => signalOwned(child, signal),
    get exitInfo() {
      return child.exitInfo;
    },
  };
}

/** A temp directory for token, config and state files; `cleanup()` removes it. */
export function agentTempDir(): { dir: string; file(name: string, content: string): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-agent-e2e-"));
  return {
    dir,
    file(name, content) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      chmodSync(file, 0o600);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The same argv with other hub URLs. */
export function withUrls(args: readonly string[], urls: string[]): string[] {
  const rest = args.filter((a, i) => a !== "--url" && args[i - 1] !== "--url");
  return [...urls.flatMap((url) => ["--url", url]), ...rest];
}
