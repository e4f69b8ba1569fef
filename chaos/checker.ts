/**
 * The chaos run's verdict, from what the clients recorded and what the store holds at the end.
 * Pure functions of plain data, so each rule has unit tests of its own (checker.unit.test.ts).
 */
import type { BrowserSegment } from "./clients";

export interface Violation {
  rule:
    | "browser-order"
    | "browser-gap"
    | "browser-unknown-event"
    | "command-wrong-host"
    | "no-recovery"
    | "server-error"
    | "run-counts"
    | "command-not-terminal"
    | "host-status"
    | "client-shut-out";
  detail: string;
}

/** A browser event in the final log: its id and whether an admin's browser gets it (no `except`). */
export interface LoggedEvent {
  id: string;
  /** False for events an admin does not get (a `host_removed` sent only to those who lost sight of a host). */
  forAdmin: boolean;
}

export interface BrowserVerdict {
  violations: Violation[];
  /** Events checked against the log (received and expected), over every browser. */
  checked: number;
  /** Segments that began with a `hosts` frame marked `resync` (explicit, allowed). */
  resyncs: number;
}

/**
 * Every event a browser received reached it exactly once and in order, and none in the log is
 * missing between where a segment started (a snapshot or the `after` it resumed from) and the last
 * one it received; a new snapshot (`resync`) is the only allowed break, and it is explicit.
 */
export function checkBrowsers(log: readonly LoggedEvent[], browsers: ReadonlyArray<readonly BrowserSegment[]>): BrowserVerdict {
  const violations: Violation[] = [];
  const ids = log.map((e) => e.id);
  const inLog = new Set(ids);
  // The log was read at one moment; what browsers got after it (heartbeats go on) is not judged,
  // nor what it no longer holds at the other end (trimmed at LOG_MAX_LEN in a long run).
  const horizon = ids.at(-1) ?? "";
  const oldest = ids[0] ?? "";
  const judged = (id: string) => id <= horizon && id >= oldest;
  let checked = 0;
  let resyncs = 0;
  browsers.forEach((segments, b) => {
    segments.forEach((seg, s) => {
      if (seg.resync) resyncs += 1;
      const where = `browser ${b} segment ${s} (from ${seg.from || "start"}${seg.snapshot ? ", snapshot" : ", resumed"})`;
      let previous = seg.from;
      for (const id of seg.ids) {
        if (previous && id <= previous) {
          violations.push({ rule: "browser-order", detail: `${where}: ${id} after ${previous}` });
        }
        previous = id;
      }
      // Events the log lost (a Redis failover drops what the replica had not received) are
      // excused when the hub told this browser so: its next segment is a `resync` snapshot.
      const excused = segments[s + 1]?.resync === true;
      for (const id of seg.ids) {
        if (judged(id) && !inLog.has(id) && !excused)
          violations.push({ rule: "browser-unknown-event", detail: `${where}: received ${id}, which the log does not hold` });
      }
      const last = seg.ids.filter((id) => judged(id)).at(-1);
      if (last === undefined) return;
      const got = new Set(seg.ids);
      const expected = log.filter((e) => e.forAdmin && e.id > seg.from && e.id <= last);
      checked += expected.length;
      const missing = expected.filter((e) => !got.has(e.id));
      if (missing.length) {
        violations.push({
          rule: "browser-gap",
          detail: `${where}: ${missing.length} event(s) of the log never arrived, first ${missing[0]!.id}`,
        });
      }
    });
  });
  return { violations, checked, resyncs };
}

export const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled", "timed_out", "expired", "lost"]);

/**
 * Every accepted command ran only on the host it was sent to (each agent runs an id once; a
 * second host running it would be a second run) and ended in a terminal state.
 */
export function checkCommands(
  accepted: ReadonlyArray<{ id: string; hostId: string; status: string | undefined }>,
  ranOn: ReadonlyMap<string, readonly string[]>,
): { violations: Violation[]; checked: number } {
  const violations: Violation[] = [];
  for (const c of accepted) {
    const hosts = ranOn.get(c.id) ?? [];
    if (hosts.some((h) => h !== c.hostId)) {
      violations.push({ rule: "command-wrong-host", detail: `command ${c.id} for host ${c.hostId} ran on ${hosts.join(", ")}` });
    }
    if (c.status === undefined || !TERMINAL.has(c.status)) {
      violations.push({ rule: "command-not-terminal", detail: `command ${c.id} ended ${c.status ?? "unknown"}` });
    }
  }
  return { violations, checked: accepted.length };
}

/** Every host's final status is `online` exactly when its agent holds a registered socket. */
export function checkHosts(
  hosts: ReadonlyArray<{ id: string; name: string; status: string }>,
  connected: ReadonlySet<string>,
): { violations: Violation[]; checked: number } {
  const violations: Violation[] = [];
  for (const h of hosts) {
    const want = connected.has(h.id) ? "online" : "offline";
    if (h.status !== want)
      violations.push({
        rule: "host-status",
        detail: `host ${h.name} is ${h.status}, its agent is ${connected.has(h.id) ? "connected" : "not connected"}`,
      });
  }
  return { violations, checked: hosts.length };
}

/**
 * Every run is over (`finished` or `cancelled`) and its counts are exactly its commands' statuses:
 * `counts[s]` commands in status `s`, `total` of them in all.
 */
export function checkRuns(
  runs: ReadonlyArray<{
    id: string;
    status: string;
    total: number;
    counts: Record<string, number>;
    commands: ReadonlyArray<{ status: string }>;
  }>,
): { violations: Violation[]; checked: number } {
  const violations: Violation[] = [];
  for (const r of runs) {
    if (r.status !== "finished" && r.status !== "cancelled")
      violations.push({ rule: "run-counts", detail: `run ${r.id} is still ${r.status}` });
    const actual: Record<string, number> = {};
    for (const c of r.commands) actual[c.status] = (actual[c.status] ?? 0) + 1;
    const statuses = new Set([...Object.keys(actual), ...Object.keys(r.counts)]);
    const wrong = [...statuses].filter((s) => (r.counts[s] ?? 0) !== (actual[s] ?? 0));
    if (wrong.length || r.total !== r.commands.length) {
      violations.push({
        rule: "run-counts",
        detail: `run ${r.id}: counts ${JSON.stringify(r.counts)} total ${r.total}, commands ${JSON.stringify(actual)} (${r.commands.length})`,
      });
    }
  }
  return { violations, checked: runs.length };
}
