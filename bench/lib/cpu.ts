/**
 * CPU time per process over a measured phase, from /proc/<pid>/stat (utime + stime). On a
 * 2-core machine it tells whether a figure is the relay's or the load generator's limit.
 */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Named processes to account for (name → pid). */
export type Pids = Record<string, number>;

export interface CpuMark {
  at: number;
  seconds: Record<string, number>;
}

function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined; // exited
  }
}

export function markCpu(pids: Pids): CpuMark {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const s = cpuSeconds(pid);
    if (s !== undefined) seconds[name] = s;
  }
  return { at: Date.now(), seconds };
}

/** CPU-seconds each process used since `start` (10 ms ticks), and the wall time between the marks. */
export function cpuSecondsSince(start: CpuMark, pids: Pids): { wallSeconds: number; seconds: Record<string, number> } {
  const end = markCpu(pids);
  const seconds: Record<string, number> = {};
  for (const [name, s] of Object.entries(end.seconds)) {
    const before = start.seconds[name];
    if (before !== undefined) seconds[name] = s - before;
  }
  return { wallSeconds: Math.max(1, end.at - start.at) / 1000, seconds };
}

/** Percent of one core each process used between two marks (200 = both cores of two). */
export function cpuSince(start: CpuMark, pids: Pids): Record<string, number> {
  return cpuPercent(cpuSecondsSince(start, pids));
}

/** {@link cpuSecondsSince}'s seconds as percent of one core over its wall time. */
export function cpuPercent(used: { wallSeconds: number; seconds: Record<string, number> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(used.seconds)) out[name] = Math.round((s / used.wallSeconds) * 100);
  return out;
}

/** `hubA 85% · redis 40% · …`, busiest first. */
export function describeCpu(cpu: Record<string, number> | undefined): string {
  if (!cpu) return "";
  return Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([name, pct]) => `${name} ${pct}%`)
    .join(" · ");
}
