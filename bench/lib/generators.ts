/**
 * Load generators as forked processes (bench/gen/main.ts), each holding many sockets. The
 * coordinator calls them through typed requests; `stopAll()` asks them to exit and kills by pid
 * whatever is still running after a grace period.
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { OpName, Ops, Reply, Request } from "../gen/protocol";

const ENTRY = path.join(__dirname, "..", "gen", "main.ts");
const live = new Set<ChildProcess>();

// Whatever happens to the coordinator, no generator outlives it (they also exit on IPC disconnect).
process.on("exit", () => {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
});

export class Generator {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    live.add(child);
    child.on("message", (msg: Reply | { ready: true }) => {
      if ("ready" in msg) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`generator ${name} ${p.op}: ${msg.error}`));
    });
    child.stderr?.on("data", (d: Buffer) => process.stderr.write(`[${name}] ${d.toString()}`));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        for (const p of this.pending.values()) p.reject(new Error(`generator ${name} exited (${code ?? signal}) during ${p.op}`));
        this.pending.clear();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Forks a generator and resolves once it is listening for requests. */
  static async start(name: string): Promise<Generator> {
    const child = fork(ENTRY, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "pipe", "ipc"] });
    const gen = new Generator(name, child);
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`generator ${name} exited (${code}) before it was ready`)));
    });
    return gen;
  }

  /** Starts `n` generators in parallel. */
  static startMany(prefix: string, n: number): Promise<Generator[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => Generator.start(`${prefix}${i + 1}`)));
  }

  call<K extends OpName>(op: K, args: Ops[K]["args"]): Promise<Ops[K]["result"]> {
    const id = this.nextId++;
    const req: Request<K> = { id, op, args };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op });
      this.child.send(req, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  /** Asks it to close its sockets and exit; SIGKILL by pid after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ op: "exit" });
    const timer = setTimeout(() => this.child.pid !== undefined && process.kill(this.child.pid, "SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function stopAll(gens: readonly Generator[]): Promise<void> {
  await Promise.all(gens.map((g) => g.stop()));
}

/** Splits `items` into `n` nearly equal consecutive parts. */
export function split<T>(items: readonly T[], n: number): T[][] {
  const size = Math.ceil(items.length / n);
  return Array.from({ length: n }, (_, i) => items.slice(i * size, (i + 1) * size));
}
