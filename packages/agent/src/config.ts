import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LabelsSchema } from "@tether/protocol";
import { z } from "zod";
import { AllowListSchema } from "./allow-list";
import { LOG_LEVELS } from "./log";
import { OPTIONS, envName, fileKey, type OptionSpec } from "./options";
import { parseServerKey, type ServerKey } from "./verify";

/** A bad option: `main` prints the message and exits 2. The message names the option. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** "12" → 12 for values from flags and env; anything unparsable stays as is for zod to name. */
const numeric = (v: unknown) => (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v);
const int = (min: number, max: number, def: number) =>
  z
    .preprocess(numeric, z.number().int(`must be an integer`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(def);

const BOOLEANS: Record<string, boolean> = { "1": true, true: true, yes: true, on: true, "0": false, false: false, no: false, off: false };
const bool = z.preprocess((v) => (typeof v === "string" ? (BOOLEANS[v.trim().toLowerCase()] ?? v) : v), z.boolean()).default(false);

/** `["a=b", "c=d"]` (flags) or `"a=b,c=d"` (env) → `{a: "b", c: "d"}`; a file gives the object. */
const labels = z
  .preprocess((v) => {
    const items = typeof v === "string" ? v.split(",").filter((s) => s.trim() !== "") : v;
    if (!Array.isArray(items)) return v;
    const out: Record<string, string> = {};
    for (const item of items) {
      const eq = String(item).indexOf("=");
      if (eq < 1) return item; // not KEY=VALUE: let zod reject the string with the option's name
      out[String(item).slice(0, eq).trim()] = String(item)
        .slice(eq + 1)
        .trim();
    }
    return out;
  }, LabelsSchema)
  .default({});

const isWsUrl = (s: string) => {
  try {
    return ["ws:", "wss:"].includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

/**
 * One or more hub URLs: `--url` repeated and/or comma-separated (flags), a comma-separated
 * `TETHER_URL`, or a string or array in the file. The error names the bad URL when there are several.
 */
const urls = z.preprocess(
  (v) => {
    const items = typeof v === "string" ? [v] : v;
    if (!Array.isArray(items) || !items.every((i) => typeof i === "string")) return v;
    return items
      .flatMap((i: string) => i.split(","))
      .map((i) => i.trim())
      .filter((i) => i !== "");
  },
  z
    .array(z.string(), "must be a URL or a list of URLs")
    .min(1, "must be a ws:// or wss:// URL")
    .superRefine((list, ctx) => {
      const bad = list.find((u) => !isWsUrl(u));
      if (bad !== undefined)
        ctx.addIssue({
          code: "custom",
          message: list.length > 1 ? `${JSON.stringify(bad)} must be a ws:// or wss:// URL` : "must be a ws:// or wss:// URL",
        });
    }),
);

/** Server keys: PEMs or files; repeated flags, a comma-separated env (PEMs hold no commas), a string or list in the file. */
const serverKeys = z
  .preprocess(
    (v) => {
      const items = typeof v === "string" ? [v] : v;
      if (!Array.isArray(items) || !items.every((i) => typeof i === "string")) return v;
      return items
        .flatMap((i: string) => i.split(","))
        .map((i) => i.trim())
        .filter((i) => i !== "");
    },
    z.array(z.string().max(16_384), "must be a PEM public key or a file, or a list of them"),
  )
  .default([]);

/** Header-safe: a token with whitespace or control characters is a copy-paste accident. */
const token = z.string().regex(/^[\x21-\x7e]{1,4096}$/, "must be 1-4096 printable characters without spaces");

/** THE schema: every option, whatever its source, passes here once. */
export const AgentConfigSchema = z
  .object({
    /** Hub URLs, tried in turn: the first at start, the next one after each disconnect. */
    urls,
    token: token.optional(),
    tokenFile: z.string().min(1).optional(),
    serverKeys,
    allowAny: bool,
    hostname: z
      .string()
      .min(1)
      .max(255)
      .default(() => os.hostname()),
    labels,
    heartbeatInterval: int(100, 3_600_000, 10_000),
    pingInterval: int(100, 3_600_000, 30_000),
    commandTimeout: int(100, 86_400_000, 600_000),
    killGrace: int(0, 600_000, 5_000),
    maxConcurrent: int(1, 1024, 4),
    maxMessageBytes: int(4096, 64 * 1024 * 1024, 65_536),
    outboxBytes: int(65_536, 1024 * 1024 * 1024, 8 * 1024 * 1024),
    stateFile: z.string().min(1),
    stateLimit: int(10, 1_000_000, 1_000),
    logLevel: z.enum(LOG_LEVELS).default("info"),
    commands: AllowListSchema.default({}),
  })
  .strict()
  .refine((c) => c.token !== undefined || c.tokenFile !== undefined, {
    path: ["token"],
    message: "missing: give --token-file FILE, env TETHER_TOKEN, or --token",
  });

/** The validated config the agent runs with; the token is resolved (read from its file). */
export type AgentConfig = Omit<z.output<typeof AgentConfigSchema>, "token" | "tokenFile" | "serverKeys"> & {
  token: string;
  /** Keys commands must be signed with (CONTRACT §5); empty: commands are not verified. */
  serverKeys: ServerKey[];
  /**
   * The agent's own files (token file, state file, config file): never readable through a
   * command's path parameter.
   */
  ownFiles: string[];
};

export type LoadResult = { kind: "help" } | { kind: "version" } | { kind: "run"; config: AgentConfig };

export interface LoadInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

/** Where each value came from, to name it in an error: `--url`, `env TETHER_URL`, `"url" in /etc/…`. */
type Sources = Record<string, string>;

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`--config: cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--config: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigError(`--config: ${file} must hold a JSON object`);
  return json as Record<string, unknown>;
}

function describe(spec: OptionSpec | undefined, key: string): string {
  if (!spec) return key === "commands" ? `"commands" in the config file` : key;
  return `--${spec.flag}${spec.env === false ? "" : ` (or env ${envName(spec)}, or "${fileKey(spec)}" in the config file)`}`;
}

/**
 * Reads options from flags, env and the JSON config file (precedence in that order, then
 * defaults) and validates them. Throws {@link ConfigError} naming the offending option.
 */
export function loadConfig({ argv, env }: LoadInput): LoadResult {
  let flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options = Object.fromEntries(OPTIONS.map((s) => [s.flag, { type: s.type, multiple: s.multiple ?? false }]));
    flags = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new ConfigError(`${msg} (see --help)`);
  }
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const layers: { raw: Record<string, unknown>; name: (spec: OptionSpec) => string }[] = [];
  const configPath = (flags.config as string | undefined) ?? env.TETHER_CONFIG;
  if (configPath) {
    const json = readConfigFile(configPath);
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) {
      const spec = OPTIONS.find((s) => s.file !== false && fileKey(s) === k);
      if (k === "commands") raw.commands = v;
      else if (spec) raw[spec.key] = v;
      else throw new ConfigError(`unknown key "${k}" in config file ${configPath}`);
    }
    layers.push({ raw, name: (s) => `"${fileKey(s)}" in config file ${configPath}` });
  }
  const fromEnv: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    if (spec.env !== false && spec.file !== false && env[envName(spec)] !== undefined) fromEnv[spec.key] = env[envName(spec)];
  }
  layers.push({ raw: fromEnv, name: (s) => `env ${envName(s)}` });
  const fromFlags: Record<string, unknown> = {};
  for (const spec of OPTIONS) if (flags[spec.flag] !== undefined && spec.file !== false) fromFlags[spec.key] = flags[spec.flag];
  layers.push({ raw: fromFlags, name: (s) => `--${s.flag}` });

  const merged: Record<string, unknown> = {};
  const sources: Sources = {};
  for (const layer of layers) {
    // token and token-file are one choice: a higher layer's either replaces a lower layer's both.
    if ("token" in layer.raw || "tokenFile" in layer.raw) {
      delete merged.token;
      delete merged.tokenFile;
    }
    for (const [key, value] of Object.entries(layer.raw)) {
      merged[key] = value;
      const spec = OPTIONS.find((s) => s.key === key);
      sources[key] = spec ? layer.name(spec) : `"${key}" in config file ${configPath}`;
    }
  }
  if (merged.stateFile === undefined) {
    const stateDir = env.STATE_DIRECTORY?.split(":")[0]; // systemd's StateDirectory=
    merged.stateFile = stateDir ? path.join(stateDir, "state.json") : path.join(os.homedir(), ".tether-agent", "state.json");
  }

  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? "");
    const where =
      sources[key] ??
      describe(
        OPTIONS.find((s) => s.key === key),
        key,
      );
    const sub = issue.path.length > 1 ? ` at ${issue.path.slice(1).join(".")}` : "";
    if (key === "token" && merged.token === undefined)
      throw new ConfigError("missing token: give --token-file FILE, env TETHER_TOKEN, or --token");
    if (merged[key] === undefined) throw new ConfigError(`missing required option ${where}`);
    throw new ConfigError(`invalid ${where}${sub}: ${explain(issue)}`);
  }
  const { token: tokenValue, tokenFile, serverKeys: keyItems, ...rest } = parsed.data;
  const where = sources.serverKeys ?? "--server-key";
  const ownFiles = [tokenFile, rest.stateFile, configPath].filter((f): f is string => f !== undefined).map((f) => path.resolve(f));
  return {
    kind: "run",
    config: {
      ...rest,
      token: tokenValue ?? readToken(tokenFile!, sources.tokenFile ?? "--token-file"),
      serverKeys: keyItems.map((item) => readServerKey(item, where)),
      ownFiles,
    },
  };
}

/** zod's type errors speak TypeScript; say what the user should write instead. */
function explain(issue: z.core.$ZodIssue): string {
  if (issue.code !== "invalid_type") return issue.message;
  const expected: Record<string, string> = {
    number: "must be a number",
    boolean: "must be true or false (1/0, yes/no, on/off)",
    record: "must be KEY=VALUE (repeat the flag; in env comma-separated; in the file an object)",
    string: "must be a string",
  };
  return expected[issue.expected] ?? issue.message;
}

/** A PEM given inline, or a file holding one; the error names the option and the file. */
function readServerKey(item: string, where: string): ServerKey {
  let text = item;
  if (!item.startsWith("-----BEGIN")) {
    try {
      text = readFileSync(item, "utf8");
    } catch (err) {
      throw new ConfigError(`${where}: cannot read ${item}: ${(err as Error).message}`);
    }
  }
  try {
    return parseServerKey(text);
  } catch (err) {
    const what = item.startsWith("-----BEGIN") ? "the key" : `the key in ${item}`;
    throw new ConfigError(
      `${where}: ${what} ${(err as Error).message.startsWith("is a") ? (err as Error).message : "is not an Ed25519 SPKI PEM public key"}`,
    );
  }
}

function readToken(file: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as Error).message}`);
  }
  const ok = token.safeParse(text);
  if (!ok.success) throw new ConfigError(`${where}: the token in ${file} ${ok.error.issues[0]!.message}`);
  return text;
}
