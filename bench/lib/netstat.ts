/**
 * TCP listen-queue counters of this network namespace (/proc/net/netstat, TcpExt). A burst of
 * connects that overflows a server's accept backlog shows here: the kernel drops the SYNs and
 * clients retransmit them after 1 s, 3 s, 7 s…, which looks like a slow server.
 */
import { readFileSync } from "node:fs";

const NAMES = ["ListenOverflows", "ListenDrops", "SyncookiesSent"] as const;
export type ListenCounters = Record<(typeof NAMES)[number], number>;

export function listenCounters(): ListenCounters {
  const out: ListenCounters = { ListenOverflows: 0, ListenDrops: 0, SyncookiesSent: 0 };
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("TcpExt:"));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    for (const name of NAMES) {
      const i = names.indexOf(name);
      if (i > 0) out[name] = Number(values[i]);
    }
  } catch {
    // not Linux: all zero
  }
  return out;
}

/** "ListenOverflows +1234, ListenDrops +1234, SyncookiesSent +0" since `before`. */
export function describeListenDelta(before: ListenCounters): string {
  const now = listenCounters();
  return NAMES.map((n) => `${n} +${now[n] - before[n]}`).join(", ");
}
