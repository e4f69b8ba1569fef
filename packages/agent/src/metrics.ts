import { statfs } from "node:fs/promises";
import os from "node:os";
import type { z } from "zod";
import type { MetricsSchema } from "@tether/protocol";

/** Heartbeat metrics; the key names are documented in the README and must stay stable. */
export type Metrics = z.infer<typeof MetricsSchema>;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Samples host health with Node's own `os` and `fs.statfs` (no dependency, nothing spawned):
 * `load_avg` [1, 5, 15 min], `cpu_count`, `mem_total_bytes`, `mem_free_bytes` (available),
 * `mem_used_percent`, `uptime_s`, `disk_total_bytes`, `disk_free_bytes` (available to
 * non-root), `disk_used_percent` for `/`, plus the agent's own `agent_rss_bytes` and
 * `commands_running`. A value that cannot be read is `null`, never a made-up 0.
 */
export async function collectMetrics(extra: { commandsRunning: number }, diskPath = "/"): Promise<Metrics> {
  const total = os.totalmem();
  const free = os.freemem();
  const metrics: Metrics = {
    load_avg: os.loadavg().map((n) => round(n)),
    cpu_count: os.availableParallelism(),
    mem_total_bytes: total,
    mem_free_bytes: free,
    mem_used_percent: total > 0 ? round(((total - free) / total) * 100, 1) : null,
    uptime_s: Math.floor(os.uptime()),
    disk_total_bytes: null,
    disk_free_bytes: null,
    disk_used_percent: null,
    agent_rss_bytes: process.memoryUsage.rss(),
    commands_running: extra.commandsRunning,
  };
  try {
    const fs = await statfs(diskPath);
    const diskTotal = fs.blocks * fs.bsize;
    // "used" as df computes it: blocks minus free-for-root, against what non-root can use.
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const avail = fs.bavail * fs.bsize;
    metrics.disk_total_bytes = diskTotal;
    metrics.disk_free_bytes = avail;
    metrics.disk_used_percent = used + avail > 0 ? round((used / (used + avail)) * 100, 1) : null;
  } catch {
    // statfs can fail in odd sandboxes; the nulls above say "unknown".
  }
  return metrics;
}
