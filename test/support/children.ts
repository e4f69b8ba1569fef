import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import readline from "node:readline";

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process this test process started and owns. */
export interface OwnedChild {
  child: ChildProcess;
  pid: number;
  /** Resolves once the process has exited (attached at spawn, so it is never missed). */
  exited: Promise<ExitInfo>;
  /** Set once `exited` resolved. */
  exitInfo: ExitInfo | undefined;
}

// Every child we start, so none outlives the test process: on a normal exit we SIGKILL the
// leftovers; where util-linux `setpriv` exists the kernel also kills them if we die abruptly
// (parent-death signal), which an 'exit' handler cannot cover.
const owned = new Set<ChildProcess>();

function killLeftovers(): void {
  for (const child of owned) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

let pdeathsigSupported: boolean | undefined;
function canUsePdeathsig(): boolean {
  if (pdeathsigSupported === undefined) {
    const probe = spawnSync("setpriv", ["--pdeathsig", "SIGKILL", "--", "true"], { stdio: "ignore", timeout: 3000 });
    pdeathsigSupported = probe.status === 0;
  }
  return pdeathsigSupported;
}

/**
 * Spawns `command args` with stdout/stderr piped, registered for cleanup. The returned pid is
 * the command's own pid (setpriv execs it), so signalling it signals the real process.
 */
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions = {}): OwnedChild {
  const argv = canUsePdeathsig() ? ["--pdeathsig", "SIGKILL", "--", command, ...args] : [...args];
  const child = spawn(canUsePdeathsig() ? "setpriv" : command, argv, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  const forget = (): void => {
    owned.delete(child);
    if (owned.size === 0) process.off("exit", killLeftovers);
  };
  if (child.pid === undefined) {
    // spawn failed synchronously-ish (ENOENT arrives as 'error'); nothing to own.
    const error = new Promise<never>((_, reject) => child.once("error", reject));
    return {
      child,
      pid: -1,
      exited: error,
      exitInfo: undefined,
    };
  }
  if (owned.size === 0) process.on("exit", killLeftovers);
  owned.add(child);
  const result: OwnedChild = {
    child,
    pid: child.pid,
    exitInfo: undefined,
    exited: new Promise<ExitInfo>((resolve) => {
      let closed = false;
      child.once("close", () => (closed = true));
      child.once("exit", (code, signal) => {
        forget();
        const info = { code, signal };
        // 'close' (all output read) normally follows 'exit' at once; wait for it so error
        // messages show the last lines, but not forever: a grandchild may hold the pipes open.
        const finish = (): void => {
          clearTimeout(timer);
          result.exitInfo = info;
          resolve(info);
        };
        const timer = setTimeout(finish, 500);
        if (closed) finish();
        else child.once("close", finish);
      });
    }),
  };
  child.on("error", () => undefined); // a failed kill() reports here; the exit promise is the source of truth
  return result;
}

/** Calls `onLine` for every line of both output streams, tagged with the stream's name. */
export function readLines(child: ChildProcess, onLine: (line: string, stream: "stdout" | "stderr") => void): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const input = child[stream];
    if (input) readline.createInterface({ input, crlfDelay: Infinity }).on("line", (line) => onLine(line, stream));
  }
}

/** Sends `signal` to our own child unless it already exited. */
export function signalOwned(owned: OwnedChild, signal: NodeJS.Signals): void {
  if (owned.exitInfo === undefined && owned.pid > 0) {
    try {
      process.kill(owned.pid, signal);
    } catch {
      // exited between the check and the kill
    }
  }
}
