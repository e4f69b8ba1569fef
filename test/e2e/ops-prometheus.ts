/**
 * A `/metrics` scrape, parsed: Prometheus text exposition format (version 0.0.4), enough of it to
 * assert on — `# TYPE` lines and `name{label="value",…} number` samples.
 */
import { request } from "../support/http";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** The response's Content-Type. */
  contentType: string;
  /** Metric family → type (`counter`, `gauge`, `histogram`, …), from `# TYPE`. */
  types: Map<string, string>;
  samples: Sample[];
  /** Samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** Sum of those samples' values (0 when there are none). */
  sum(name: string, labels?: Record<string, string>): number;
}

/** Parses an exposition; throws on a line that is neither a comment nor a sample. */
export function parseExposition(text: string, contentType = ""): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const find = (name: string, want: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return {
    contentType,
    types,
    samples,
    find,
    sum: (name, want) => find(name, want).reduce((total, s) => total + s.value, 0),
  };
}

/** `GET <baseUrl>/metrics`, parsed; throws unless 200. */
export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await request(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/metrics: ${res.status} ${res.text.slice(0, 200)}`);
  return parseExposition(res.text, String(res.headers["content-type"] ?? ""));
}
