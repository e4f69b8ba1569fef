import { z } from "zod";

/** The placeholder that stands for all of a command's arguments, each its own argv element. */
export const ARGS_PLACEHOLDER = "{args}";

/**
 * The config file's `"commands"`: name → argv template. A template is a list of literal argv
 * elements; an element that is exactly `"{args}"` is replaced by the dispatched args (zero or
 * more). A template without `"{args}"` accepts no args. Nothing else is interpolated, and no
 * shell ever sees the result.
 */
export const AllowListSchema = z.record(
  z.string().min(1).max(128),
  z
    .array(z.string().max(4096))
    .min(1, "an argv template needs at least the program")
    .max(256)
    .refine((argv) => argv[0] !== "" && argv[0] !== ARGS_PLACEHOLDER, "the first element must be the program, not empty or {args}")
    .refine((argv) => argv.filter((a) => a === ARGS_PLACEHOLDER).length <= 1, "{args} may appear at most once"),
);
export type AllowList = z.infer<typeof AllowListSchema>;

/** What the agent does with a dispatched command: run this argv, or reject it with a reason. */
export type Resolution = { ok: true; argv: string[] } | { ok: false; reason: string };

/**
 * Maps a dispatched `{command, args}` to the argv to run. Allow-list names win; with
 * `allowAny` anything else runs literally as `[command, ...args]`.
 */
export function resolveCommand(allowList: AllowList, allowAny: boolean, command: string, args: readonly string[]): Resolution {
  // Own-property check: "constructor" or "__proto__" must not resolve through the prototype.
  const template = Object.prototype.hasOwnProperty.call(allowList, command) ? allowList[command] : undefined;
  if (template) {
    const at = template.indexOf(ARGS_PLACEHOLDER);
    if (at === -1) {
      if (args.length > 0) return { ok: false, reason: `command "${command}" takes no arguments` };
      return { ok: true, argv: [...template] };
    }
    return { ok: true, argv: [...template.slice(0, at), ...args, ...template.slice(at + 1)] };
  }
  if (allowAny) return { ok: true, argv: [command, ...args] };
  return { ok: false, reason: `command "${command}" is not in this agent's allow-list` };
}
