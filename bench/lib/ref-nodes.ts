/**
 * The two reference relays (bench/reference), two nodes each, as child processes over the
 * bench's Redis. Each node listens on a free port it prints; `stop()` ends them by pid.
 */
import path from "node:path";
import { readLines, signalOwned, spawnOwned, type OwnedChild } from "../../test/support/children";
import { withTimeout } from "../../test/support/wait";

export type RefKind = "bare" | "sio";

const ENTRIES: Record<RefKind, string> = {
  bare: path.join(__dirname, "..", "reference", "bare-relay.ts"),
  sio: path.join(__dirname, "..", "reference", "socketio-relay.ts"),
};

export interface RefNode {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

async function startNode(kind: RefKind, env: Record<string, string>): Promise<RefNode> {
  const child: OwnedChild = spawnOwned(process.execPath, ["--import", "tsx", ENTRIES[kind]], {
    cwd: path.join(__dirname, "..", ".."),
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      readLines(child.child, (line) => {
        lines.push(line);
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
        else if (lines.length < 50) process.stderr.write(`[${kind}] ${line}\n`);
      });
      void child.exited.then((info) => reject(new Error(`${kind} relay exited (${info.code ?? info.signal}): ${lines.join("\n")}`)));
    }),
    30_000,
    () => `${kind} relay did not print its port: ${lines.join("\n")}`,
  );
  return {
    pid: child.pid,
    url: kind === "bare" ? `ws://127.0.0.1:${port}/` : `http://127.0.0.1:${port}`,
    async stop() {
      signalOwned(child, "SIGTERM");
      const timer = setTimeout(() => signalOwned(child, "SIGKILL"), 3000);
      await child.exited.catch(() => undefined);
      clearTimeout(timer);
    },
  };
}

/** Two nodes of a reference relay: [agents' node, browsers' node]. */
export async function startRefPair(kind: RefKind, redisUrl: string, channel: string): Promise<[RefNode, RefNode]> {
  const env = { REDIS_URL: redisUrl, CHANNEL: channel, KEY: channel };
  const started = await Promise.allSettled([startNode(kind, env), startNode(kind, env)]);
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stopRefPair(nodes);
    throw failed.reason;
  }
  return [nodes[0]!, nodes[1]!];
}

export async function stopRefPair(pair: readonly RefNode[]): Promise<void> {
  await Promise.all(pair.map((n) => n.stop()));
}
