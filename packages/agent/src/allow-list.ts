import { z } from "zod";
import { resolvePathParam, type OwnFiles } from "./own-files";
import { mismatch, parseParam, type Param } from "./template-params";

/** The v1 placeholder for "all the arguments": refused since typed parameters (see below). */
export const ARGS_PLACEHOLDER = "{args}";

const ARGS_REFUSED =
  '"{args}" is no longer accepted: its values could add options and file operands ("grep {args} file" taking "-r root /etc/passwd", "tail -- {args}" reading the agent\'s token). Give each argument a typed parameter, e.g. "{n:int}", "{unit:enum(nginx|redis)}", "{file:path(/var/log/**)}", "{id:re([a-z0-9-]{1,64})}" (packages/agent/README.md, Commands)';

/** One template element: a literal argv element, or a typed parameter that takes one argument. */
export type TemplatePart = { literal: string } | { param: Param };

/**
 * The config file's `"commands"`: name → argv template. Each element is a literal, or exactly
 * `{name:TYPE}`, which takes the next dispatched argument if it matches TYPE whole (see
 * template-params.ts). A dispatch must give exactly one argument per parameter, in order.
 * Nothing else is interpolated, and no shell ever sees the result. Parsed at load: a malformed
 * parameter stops the agent at start, naming the command.
 */
export const AllowListSchema = z.record(
  z.string().min(1).max(128),
  z
    .array(z.string().max(4096))
    .min(1, "an argv template needs at least the program")
    .max(256)
    .transform((argv, ctx): TemplatePart[] => {
      if (argv.includes(ARGS_PLACEHOLDER)) {
        ctx.addIssue({ code: "custom", message: ARGS_REFUSED });
        return z.NEVER;
      }
      const parts: TemplatePart[] = [];
      for (const element of argv) {
        let param: Param | null;
        try {
          param = parseParam(element);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
        parts.push(param ? { param } : { literal: element });
      }
      if (!("literal" in parts[0]!) || parts[0].literal === "") {
        ctx.addIssue({ code: "custom", message: "the first element must be the program, not empty or a parameter" });
        return z.NEVER;
      }
      const names = parts.flatMap((p) => ("param" in p ? [p.param.name] : []));
      if (new Set(names).size !== names.length) {
        ctx.addIssue({ code: "custom", message: "each parameter name may appear once" });
        return z.NEVER;
      }
      return parts;
    }),
);
export type AllowList = z.infer<typeof AllowListSchema>;

/** What the agent does with a dispatched command: run this argv, or reject it with a reason. */
export type Resolution = { ok: true; argv: string[] } | { ok: false; reason: string };

/**
 * Maps a dispatched `{command, args}` to the argv to run. Allow-list names win; with
 * `allowAny` anything else runs literally as `[command, ...args]`.
 */
export function resolveCommand(
  allowList: AllowList,
  allowAny: boolean,
  command: string,
  args: readonly string[],
  own: OwnFiles,
): Resolution {
  // Own-property check: "constructor" or "__proto__" must not resolve through the prototype.
  const template = Object.prototype.hasOwnProperty.call(allowList, command) ? allowList[command] : undefined;
  if (template) return fill(command, template, args, own);
  if (allowAny) return { ok: true, argv: [command, ...args] };
  return { ok: false, reason: `command "${command}" is not in this agent's allow-list` };
}

function fill(command: string, template: readonly TemplatePart[], args: readonly string[], own: OwnFiles): Resolution {
  const params = template.filter((p) => "param" in p).length;
  if (args.length !== params) {
    const takes = params === 0 ? "no arguments" : `${params} argument${params === 1 ? "" : "s"}`;
    return { ok: false, reason: `command "${command}" takes ${takes}, got ${args.length}` };
  }
  const argv: string[] = [];
  let next = 0;
  for (const part of template) {
    if ("literal" in part) {
      argv.push(part.literal);
      continue;
    }
    const value = args[next++]!;
    const bad = mismatch(part.param, value);
    if (bad) return { ok: false, reason: `command "${command}": ${bad}` };
    if (part.param.type.kind === "path") {
      const res = resolvePathParam(part.param, value, own);
      if (!res.ok) return { ok: false, reason: `command "${command}": ${res.reason}` };
      argv.push(res.path);
    } else argv.push(value);
  }
  return { ok: true, argv };
}
