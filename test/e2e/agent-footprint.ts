/**
 * Not a test: measures the agent's idle footprint against the real stack, for the README and
 * issue 5's note. Run: `npx tsx test/e2e/agent-footprint.ts` (env: MEASURE_SECONDS=20,
 * PING_INTERVAL_MS=30000 for the hub, HEARTBEAT_MS=10000 for the agent).
 *
 * Starts a throwaway Redis, the api, one hub and a worker, creates a host, starts the agent (its
 * bin, one process) and, from its `registered` log line on, reads /proc/<pid>/status (VmRSS) and
 * /proc/<pid>/stat (utime + stime) once a second.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createHost, login } from "../support/clients";
import { startStack } from "../support/processes";
import { delay } from "../support/wait";
import { agentTempDir, spawnAgentProcess } from "./agent-process";

const seconds = Number(process.env.MEASURE_SECONDS ?? 20);
const pingMs = process.env.PING_INTERVAL_MS ?? "30000";
const heartbeatMs = process.env.HEARTBEAT_MS ?? "10000";
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function sample(pid: number): { rssKb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssKb, cpuMs: (ticks * 1000) / ticksPerSecond };
}

async function main(): Promise<void> {
  const stack = await startStack({ hubs: 1, env: { PING_INTERVAL_MS: pingMs } });
  const tmp = agentTempDir();
  try {
    const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
    const { host, token } = await createHost(stack.api.url, cookie, "footprint");
    const tokenFile = tmp.file("token", token);
    const startedAt = Date.now();
    const agent = spawnAgentProcess([
      "--url",
      stack.hubs[0]!.wsUrl,
      "--token-file",
      tokenFile,
      "--state-file",
      path.join(tmp.dir, "state.json"),
      "--ping-interval",
      pingMs,
      "--heartbeat-interval",
      heartbeatMs,
    ]);
    await agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`));
    const registeredAt = Date.now();
    const first = sample(agent.pid);
    const rss: number[] = [first.rssKb];
    for (let i = 0; i < seconds; i++) {
      await delay(1000);
      rss.push(sample(agent.pid).rssKb);
    }
    const last = sample(agent.pid);
    const cpuMs = last.cpuMs - first.cpuMs;
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    process.stdout.write(
      [
        `agent pid ${agent.pid}, node ${process.version}, hub PING_INTERVAL_MS=${pingMs}, --heartbeat-interval ${heartbeatMs}`,
        `start to registered: ${registeredAt - startedAt} ms wall, ${first.cpuMs.toFixed(0)} ms CPU`,
        `RSS: ${mb(first.rssKb)} MiB at registration, ${mb(last.rssKb)} MiB after ${seconds} s (min ${mb(Math.min(...rss))}, max ${mb(Math.max(...rss))})`,
        `CPU over ${seconds} s idle: ${cpuMs.toFixed(0)} ms (${((cpuMs / (seconds * 1000)) * 100).toFixed(2)} % of one core)`,
      ].join("\n") + "\n",
    );
    agent.signal("SIGTERM");
    await agent.waitForExit();
  } finally {
    await stack.stop();
    tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
