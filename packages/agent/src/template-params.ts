/**
 * Typed parameters in allow-list templates: an argv element that is exactly `{name:TYPE}` takes
 * one dispatched argument, which must match TYPE whole. Types: `int`, `enum(a|b)`,
 * `path(/glob/**)`, `re(regex)`; a trailing `,dash` lets a value start with `-` (refused
 * otherwise, so a value can never pass itself off as an option).
 */
import path from "node:path";
import picomatch from "picomatch";

export type ParamType =
  | { kind: "int" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "path"; glob: string; matches: (p: string) => boolean }
  | { kind: "re"; source: string; regex: RegExp };

export interface Param {
  name: string;
  type: ParamType;
  /** `,dash`: a value may start with `-`. */
  dash: boolean;
  /** The template element as written, for messages. */
  text: string;
}

/** Looks like a parameter: `{identifier:…}`. Anything else (`{print $1}`, JSON) is a literal. */
const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*):(.*)\}$/s;

/** A template element that is a parameter, parsed; null for a literal; throws on a malformed one. */
export function parseParam(element: string): Param | null {
  const m = PARAM.exec(element);
  if (!m) return null;
  const name = m[1]!;
  let spec = m[2]!;
  const dash = /,dash$/.test(spec) && (spec === "int,dash" || spec.endsWith("),dash"));
  if (dash) spec = spec.slice(0, -",dash".length);
  return { name, type: parseType(spec, element), dash, text: element };
}

function parseType(spec: string, element: string): ParamType {
  if (spec === "int") return { kind: "int" };
  const m = /^(enum|path|re)\((.*)\)$/s.exec(spec);
  if (!m) throw new Error(`${element}: unknown parameter type (int, enum(a|b), path(/dir/**), re(…), optionally followed by ,dash)`);
  const arg = m[2]!;
  if (m[1] === "enum") {
    const values = arg.split("|");
    if (values.some((v) => v === "")) throw new Error(`${element}: enum values must not be empty`);
    return { kind: "enum", values };
  }
  if (m[1] === "path") {
    if (!path.isAbsolute(arg) || arg.split("/").includes(".."))
      throw new Error(`${element}: the glob must be an absolute path without ".."`);
    // dot: false (the default): * and ** never match a name starting with "." (~/.ssh, .tether-agent).
    return { kind: "path", glob: arg, matches: picomatch(arg, { dot: false }) };
  }
  try {
    // Anchored: the whole value must match, not a part of it.
    return { kind: "re", source: arg, regex: new RegExp(`^(?:${arg})$`, "u") };
  } catch (err) {
    throw new Error(`${element}: bad regular expression: ${(err as Error).message}`, { cause: err });
  }
}

/** Short, printable form of a value for a rejection reason. */
export const shown = (v: string) => JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);

/**
 * Checks a value against a parameter that is not a path (paths need the file system: see
 * own-files.ts). Returns the reason it does not match, or null.
 */
export function mismatch(param: Param, value: string): string | null {
  if (value.includes("\0")) return `${param.text}: the value holds a NUL byte`;
  // An enum lists its values itself: an explicitly allowed "-v" is the template allowing it.
  if (value.startsWith("-") && !param.dash && param.type.kind !== "enum")
    return `${param.text}: ${shown(value)} starts with "-" (the template does not allow options here)`;
  const t = param.type;
  if (t.kind === "int") return /^-?(0|[1-9][0-9]{0,15})$/.test(value) ? null : `${param.text}: ${shown(value)} is not an integer`;
  if (t.kind === "enum") return t.values.includes(value) ? null : `${param.text}: ${shown(value)} is not one of ${t.values.join(", ")}`;
  if (t.kind === "re") return t.regex.test(value) ? null : `${param.text}: ${shown(value)} does not match`;
  return null;
}
