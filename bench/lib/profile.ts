/**
 * A .cpuprofile (node --cpu-prof) reduced to self time per function: the sample deltas summed
 * per node, grouped by function name and source location.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

const ROOT = path.resolve(__dirname, "..", "..");

function where(url: string, line: number): string {
  if (!url) return "";
  const file = url.replace(/^file:\/\//, "");
  const short = file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
  // tsx's transpiled TypeScript has no useful line numbers; JavaScript files keep theirs.
  return short.endsWith(".ts") ? short : `${short.replace(/^node_modules\//, "~")}:${line + 1}`;
}

/** The top `n` functions by self time, and the profile's busy time (ms; samples in "(idle)" left out). */
export function topSelfTime(file: string, n = 20): { totalMs: number; top: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const sums = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === "(idle)") return;
    totalUs += dt;
    const name = node.callFrame.functionName || "(anonymous)";
    const loc = where(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name}@${loc}`;
    const entry = sums.get(key) ?? { name, where: loc, us: 0 };
    entry.us += dt;
    sums.set(key, entry);
  });
  const top = [...sums.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: totalUs ? e.us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, top };
}

/** A printable table of {@link topSelfTime}. */
export function renderTop(file: string, n = 20): string {
  const { totalMs, top } = topSelfTime(file, n);
  const lines = top.map((t) => `${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}  ${t.where}`);
  return [`${path.basename(file)}: ${totalMs.toFixed(0)} ms busy (idle excluded); self time, share of busy`, ...lines].join("\n");
}

// `node --import tsx bench/lib/profile.ts FILE.cpuprofile [N]`
if (require.main === module) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: profile.ts FILE.cpuprofile [N]\n");
    process.exit(2);
  }
  console.log(renderTop(file, n ? Number(n) : 25));
}
