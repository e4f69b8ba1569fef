/** A test Redis from the local `redis-server` binary: a free port, a temp dir, no persistence. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readLines, signalOwned, spawnOwned, type OwnedChild } from "./children";
import { freePort } from "./ports";
import type { Backend } from "./redis-backend";
import { shutdownSave } from "./redis-client";
import { tail, withTimeout } from "./wait";

class RedisStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Spawns `redis-server` on a free port (asking again only if it lost the port race). */
export async function binaryBackend(): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-redis-"));
  let server: OwnedChild | undefined;
  let port = 0;
  // A free port can be taken between our probe and redis' bind: only then ask for another one.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      server = await spawnRedisServer(port, dir);
      break;
    } catch (err) {
      if (!(err instanceof RedisStartError && err.portInUse) || attempt >= 5) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const stopServer = async (keepData: boolean): Promise<void> => {
    const current = server;
    if (!current) return;
    // SHUTDOWN SAVE dumps and exits in one step, so no write acknowledged in between is lost
    // (a SAVE then a kill would drop what came between them, like a Redis without AOF).
    if (keepData) await shutdownSave(`redis://127.0.0.1:${port}`);
    await stopChild(current, `redis-server on port ${port}`);
    server = undefined;
    // A dump from an earlier keepData stop would be loaded at the next start: drop it.
    if (!keepData) fs.rmSync(path.join(dir, "dump.rdb"), { force: true });
  };
  return {
    kind: "binary",
    host: "127.0.0.1",
    port,
    pid: () => server?.pid,
    stopServer,
    async startServer() {
      if (server) return;
      // Same port on purpose (the URL stays valid). If someone took it meanwhile we fail loudly.
      server = await spawnRedisServer(port, dir);
    },
    async dispose() {
      await stopServer(false);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM our own redis child and await its exit; SIGKILL it if it takes over 10 s. */
async function stopChild(child: OwnedChild, what: string): Promise<void> {
  signalOwned(child, "SIGTERM");
  try {
    await withTimeout(child.exited, 10_000, () => `${what} (pid ${child.pid}) ignored SIGTERM`);
  } catch {
    signalOwned(child, "SIGKILL");
    await child.exited;
  }
}

function spawnRedisServer(port: number, dir: string): Promise<OwnedChild> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"];
  const server = spawnOwned("redis-server", args, { cwd: dir });
  const lines: string[] = [];
  const ready = new Promise<OwnedChild>((resolve, reject) => {
    readLines(server.child, (line) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`[redis:${port}] ${line}\n`);
      if (/Ready to accept connections/.test(line)) resolve(server);
    });
    server.exited.then(
      (info) => {
        const output = lines.join("\n");
        const inUse = /Address already in use|Could not create server TCP listening socket/i.test(output);
        reject(
          new RedisStartError(
            `redis-server --port ${port} exited before it was ready (code ${info.code}, signal ${info.signal}):\n${tail(lines)}`,
            inUse,
          ),
        );
      },
      (err: unknown) => reject(new RedisStartError(`cannot run redis-server: ${String(err)}`, false)),
    );
  });
  return withTimeout(ready, 10_000, () => `redis-server --port ${port} never printed "Ready to accept connections":\n${tail(lines)}`).catch(
    async (err: unknown) => {
      signalOwned(server, "SIGKILL");
      await server.exited.catch(() => undefined);
      throw err;
    },
  );
}

export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
