/**
 * The dashboard bundle the API serves (`web/dist`), rebuilt when it is missing or older than
 * its sources, so the browser test never drives a stale build. The API checks for `web/dist`
 * when it starts: call this before starting the stack.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

const WEB = path.resolve(__dirname, "../web");

/** Newest modification time (ms) of a file or of any file under a directory; 0 when missing. */
function newestMtime(target: string): number {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

/** Oldest modification time (ms) of the given files; 0 when any is missing. */
function oldestMtime(files: string[]): number {
  let oldest = Infinity;
  for (const file of files) {
    const mtime = newestMtime(file);
    if (mtime === 0) return 0;
    oldest = Math.min(oldest, mtime);
  }
  return oldest;
}

/** Runs `node web/build.mjs` unless `web/dist` is newer than `web/src`, `web/index.html` and the build script. */
export function ensureDashboardBuilt(): void {
  const sources = Math.max(...["src", "index.html", "build.mjs"].map((p) => newestMtime(path.join(WEB, p))));
  const built = oldestMtime(["index.html", "app.js", "app.css"].map((p) => path.join(WEB, "dist", p)));
  if (built > sources) return;
  const result = spawnSync(process.execPath, [path.join(WEB, "build.mjs")], { cwd: WEB, encoding: "utf8", timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`node web/build.mjs failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`);
  }
}
