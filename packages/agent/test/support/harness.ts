import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAgent, type Agent } from "../../src/agent";
import { loadConfig, type AgentConfig } from "../../src/config";
import { createLog } from "../../src/log";
import type { FakeHub } from "./fake-hub";

export const REPO_ROOT = path.resolve(__dirname, "../../../..");

/** A fresh directory per test, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-agent-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Log lines of an agent, with a way to await one. */
export class Lines {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  push(line: string): void {
    this.lines.push(line);
    for (const w of [...this.waiters]) {
      if (w.re.test(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }
  /** The first line (so far or future) matching `re`. */
  wait(re: RegExp): Promise<string> {
    const found = this.lines.find((l) => re.test(l));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
  /** The first line matching `re` arriving after this call. */
  waitNew(re: RegExp): Promise<string> {
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
}

export interface InProcessAgent {
  agent: Agent;
  config: AgentConfig;
  logs: Lines;
  stop(): Promise<number>;
}

/** Runs the agent in this process against `hub`, with a throwaway state file. */
export function startAgent(
  hub: FakeHub,
  dir: string,
  opts: { argv?: string[]; env?: NodeJS.ProcessEnv; random?: () => number } = {},
): InProcessAgent {
  // --url is repeatable (the values add up): a test that passes its own replaces the default.
  const url = opts.argv?.includes("--url") ? [] : ["--url", hub.url];
  const argv = [...url, "--token", hub.token, "--state-file", path.join(dir, "state.json"), ...(opts.argv ?? [])];
  const loaded = loadConfig({ argv, env: {} });
  if (loaded.kind !== "run") throw new Error("expected a run config");
  const logs = new Lines();
  const log = createLog({ level: "debug", write: (line) => logs.push(line.trimEnd()), secrets: [loaded.config.token] });
  const agent = createAgent({ config: loaded.config, log, env: opts.env ?? process.env, random: opts.random ?? (() => 0) });
  agent.start();
  return { agent, config: loaded.config, logs, stop: () => agent.stop() };
}

export interface ChildAgent {
  child: ChildProcess;
  stderr: Lines;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the CLI as a real process, exactly as `npm run agent` does. */
export function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): ChildAgent {
  // `node --import tsx`, not the `tsx` CLI: that wrapper relays a SIGTERM to its child and, when
  // the child has not confirmed it within 30 ms (a loaded machine), SIGKILLs it and exits 143 —
  // the agent's own signal handling would never be what the test sees.
  const child = spawn(process.execPath, ["--import", "tsx", "packages/agent/src/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr = new Lines();
  let out = "";
  let partial = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => {
    const parts = (partial + b.toString()).split("\n");
    partial = parts.pop()!;
    parts.forEach((l) => stderr.push(l));
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      if (partial) stderr.push(partial);
      resolve({ code, signal });
    }),
  );
  return { child, stderr, stdout: () => out, exit };
}

/** Live (non-zombie) processes whose process group is `pgid`, read from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so parse after the last ")".
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") members.push(Number(name));
  }
  return members;
}

/**
 * Waits for a condition that has no event to await (a process dying elsewhere), checking
 * every 10 ms; fails after `timeoutMs` rather than retrying forever.
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
