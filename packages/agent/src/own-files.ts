/**
 * Path parameters against the file system: the value is resolved the way the program will see it
 * (symlinks and `..` followed: realpath), must fall inside the template's glob, and must not be,
 * nor contain, one of the agent's own files (token, state, config) or its /proc entry. The
 * program then gets the resolved path, so a symlink swapped after the check changes nothing.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import { shown, type Param } from "./template-params";

/** What the agent must never let a command read through a parameter. */
export interface OwnFiles {
  /** Absolute paths of the token file, state file, config file (whichever exist). */
  files: readonly string[];
  /** The agent's pid: /proc/<pid> holds its environment (maybe the token) and open files. */
  pid: number;
}

/** realpath, or for a path that does not exist yet, its real parent plus its name. */
function resolveReal(p: string): string | null {
  try {
    return realpathSync.native(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return null;
  }
  const base = path.basename(p);
  if (base === "" || base === "." || base === "..") return null;
  try {
    return path.join(realpathSync.native(path.dirname(p)), base);
  } catch {
    return null;
  }
}

/** Every name an own file goes by: as given, resolved, and its siblings `<file>.tmp`, `.corrupt`. */
function protectedRoots(own: OwnFiles): string[] {
  const roots = new Set<string>([`/proc/${own.pid}`]);
  for (const f of own.files) {
    roots.add(path.resolve(f));
    const real = resolveReal(path.resolve(f));
    if (real) roots.add(real);
  }
  return [...roots];
}

const within = (p: string, root: string) => p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`);

/** The resolved path to pass to the program, or the reason the value is refused. */
export function resolvePathParam(param: Param, value: string, own: OwnFiles): { ok: true; path: string } | { ok: false; reason: string } {
  if (param.type.kind !== "path") throw new Error("not a path parameter");
  if (value.includes("\0")) return { ok: false, reason: `${param.text}: the value holds a NUL byte` };
  if (!path.isAbsolute(value)) return { ok: false, reason: `${param.text}: ${shown(value)} is not an absolute path` };
  const real = resolveReal(path.normalize(value));
  if (real === null) return { ok: false, reason: `${param.text}: ${shown(value)} cannot be resolved` };
  if (!param.type.matches(real)) return { ok: false, reason: `${param.text}: ${shown(value)} is outside ${param.type.glob}` };
  for (const root of protectedRoots(own)) {
    // The file itself, a sibling of it (`state.json.123.tmp`), or a directory that holds it.
    if (within(real, root) || real.startsWith(`${root}.`) || within(root, real))
      return { ok: false, reason: `${param.text}: ${shown(value)} is one of the agent's own files` };
  }
  return { ok: true, path: real };
}
