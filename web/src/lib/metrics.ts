import type { Host } from "@tether/protocol";

type Metrics = NonNullable<Host["metrics"]>;

/** The two numbers a fleet card shows. Missing when the agent did not report them. */
export interface MetricsSummary {
  /** 1-minute load average. */
  load?: number;
  /** Memory in use, 0–100. */
  memoryPercent?: number;
}

// Metric names are free-form (CONTRACT: `heartbeat {metrics?: {…}}`), so accept the spellings
// agents commonly use: our reference agent, Node's `os` module and node_exporter-ish names.
const LOAD_KEYS = ["load1", "load_1", "load", "loadavg", "load_avg", "load_average"];
const MEM_PERCENT_KEYS = ["mem_used_pct", "mem_used_percent", "memory_used_percent", "mem_percent", "memory_percent", "mem_pct"];
const MEM_TOTAL_KEYS = ["mem_total", "memory_total", "totalmem", "mem_total_bytes"];
const MEM_USED_KEYS = ["mem_used", "memory_used", "mem_used_bytes"];
const MEM_FREE_KEYS = ["mem_free", "memory_free", "freemem", "mem_available", "mem_free_bytes"];

/** Picks load and memory use out of whatever metrics an agent reports. */
export function summarizeMetrics(metrics: Metrics | undefined): MetricsSummary {
  if (!metrics) return {};
  const summary: MetricsSummary = {};
  const load = first(metrics, LOAD_KEYS);
  if (load !== undefined) summary.load = load;
  let percent = first(metrics, MEM_PERCENT_KEYS);
  if (percent === undefined) {
    const total = first(metrics, MEM_TOTAL_KEYS);
    const used = first(metrics, MEM_USED_KEYS);
    const free = first(metrics, MEM_FREE_KEYS);
    if (total && total > 0 && used !== undefined) percent = (used / total) * 100;
    else if (total && total > 0 && free !== undefined) percent = ((total - free) / total) * 100;
  }
  if (percent !== undefined && Number.isFinite(percent)) summary.memoryPercent = Math.min(100, Math.max(0, percent));
  return summary;
}

/**
 * A metric value as text: numbers rounded, lists joined; the unit suffix of the name
 * (`_bytes`, `_percent`, `_s`) picks a readable unit.
 */
export function formatMetric(value: Metrics[string], name = ""): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.map(round).join(" ");
  if (typeof value !== "number") return value;
  if (name.endsWith("_bytes")) return formatBytes(value);
  if (name.endsWith("_percent") || name.endsWith("_pct")) return `${round(value)}%`;
  if (name.endsWith("_s") && value >= 60) return formatSeconds(value);
  return round(value);
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function formatSeconds(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}

function round(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Math.round(value * 100) / 100);
}

function first(metrics: Metrics, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = metrics[key];
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (Array.isArray(value) && typeof value[0] === "number") return value[0];
  }
  return undefined;
}
