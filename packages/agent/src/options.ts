/**
 * Every option of the agent, once: its flag, env variable, config-file key and help line.
 * `config.ts` validates the values; this table only says where they can come from.
 */
export interface OptionSpec {
  /** Long flag without the dashes, e.g. `heartbeat-interval`. */
  flag: string;
  /** Key in the validated config (camelCase). */
  key: string;
  type: "string" | "boolean";
  /** May be repeated on the command line (`--label a=b --label c=d`). */
  multiple?: boolean;
  /** Placeholder in `--help`. */
  value?: string;
  /** `false` when the option cannot come from the environment. */
  env?: false;
  /** `false` when the option cannot come from the config file. */
  file?: false;
  /** Shown in `--help`. */
  default?: string;
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: "url",
    key: "urls",
    type: "string",
    multiple: true,
    value: "URL",
    help: "hub WebSocket URL, e.g. ws://hub.example:8000/ws (required); repeat it, or give a comma-separated list, to fail over between hub nodes: each reconnect tries the next URL in turn",
  },
  {
    flag: "token",
    key: "token",
    type: "string",
    value: "TOKEN",
    help: "host token; prefer TETHER_TOKEN or --token-file so it stays out of the process list",
  },
  {
    flag: "token-file",
    key: "tokenFile",
    type: "string",
    value: "FILE",
    help: "read the host token from FILE (surrounding whitespace is ignored)",
  },
  {
    flag: "config",
    key: "config",
    type: "string",
    value: "FILE",
    file: false,
    help: 'JSON config file: any option below by its snake_case name, plus the "commands" allow-list',
  },
  {
    flag: "server-key",
    key: "serverKeys",
    type: "string",
    multiple: true,
    value: "KEY_OR_FILE",
    help: "the server's command signing public key (SPKI PEM, or a file holding it; GET /api/signing-keys lists them); repeat it for several; with one, only commands signed for this host, unexpired, run; env: comma-separated",
  },
  {
    flag: "allow-any",
    key: "allowAny",
    type: "boolean",
    default: "false",
    help: "run any argv [command, ...args] the hub sends (still without a shell), not only the allow-list",
  },
  { flag: "hostname", key: "hostname", type: "string", value: "NAME", default: "os.hostname()", help: "hostname to register with" },
  {
    flag: "label",
    key: "labels",
    type: "string",
    multiple: true,
    value: "KEY=VALUE",
    help: "host label, repeatable; env: comma-separated KEY=VALUE list; file: an object",
  },
  {
    flag: "heartbeat-interval",
    key: "heartbeatInterval",
    type: "string",
    value: "MS",
    default: "10000",
    help: "how often to send a heartbeat with metrics",
  },
  {
    flag: "ping-interval",
    key: "pingInterval",
    type: "string",
    value: "MS",
    default: "30000",
    help: "the hub's PING_INTERVAL_MS; no ping for 2.5x this means the link is dead",
  },
  {
    flag: "command-timeout",
    key: "commandTimeout",
    type: "string",
    value: "MS",
    default: "600000",
    help: "timeout of a command that does not carry its own timeout_ms",
  },
  {
    flag: "kill-grace",
    key: "killGrace",
    type: "string",
    value: "MS",
    default: "5000",
    help: "after SIGTERM to a command's process group, wait this long before SIGKILL",
  },
  {
    flag: "max-concurrent",
    key: "maxConcurrent",
    type: "string",
    value: "N",
    default: "4",
    help: "commands running at once; more wait in a local FIFO queue",
  },
  {
    flag: "max-message-bytes",
    key: "maxMessageBytes",
    type: "string",
    value: "BYTES",
    default: "65536",
    help: "largest frame sent or accepted; match the hub's MAX_MESSAGE_BYTES",
  },
  {
    flag: "outbox-bytes",
    key: "outboxBytes",
    type: "string",
    value: "BYTES",
    default: "8388608",
    help: "output kept for resending while the hub is unreachable; past it the oldest is dropped, with a marker",
  },
  {
    flag: "state-file",
    key: "stateFile",
    type: "string",
    value: "FILE",
    default: "$STATE_DIRECTORY/state.json or ~/.tether-agent/state.json",
    help: "remembers command ids across restarts, so a redelivered command never runs twice",
  },
  {
    flag: "state-limit",
    key: "stateLimit",
    type: "string",
    value: "N",
    default: "1000",
    help: "how many recent command ids the state file keeps",
  },
  { flag: "log-level", key: "logLevel", type: "string", value: "LEVEL", default: "info", help: "debug, info, warn or error" },
  { flag: "help", key: "help", type: "boolean", env: false, file: false, help: "show this help and exit" },
  { flag: "version", key: "version", type: "boolean", env: false, file: false, help: "print the version and exit" },
];

/** `heartbeat-interval` → `TETHER_HEARTBEAT_INTERVAL`; `label` → `TETHER_LABELS`. */
export function envName(spec: OptionSpec): string {
  const base = spec.flag === "label" ? "labels" : spec.flag;
  return "TETHER_" + base.toUpperCase().replace(/-/g, "_");
}

/** `heartbeat-interval` → `heartbeat_interval`; `label` → `labels`. */
export function fileKey(spec: OptionSpec): string {
  return (spec.flag === "label" ? "labels" : spec.flag).replace(/-/g, "_");
}

/** Splits `text` at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** The `--help` text, generated from the table so it can never miss an option. */
export function helpText(): string {
  const lines = [
    "Usage: tether-agent --url ws://HOST:PORT/ws [--token-file FILE | --token TOKEN] [options]",
    "",
    "The Tether reference agent: registers this server with a hub, reports metrics and runs the",
    "commands its allow-list permits. Precedence: flags > environment > config file > defaults.",
    "",
    "Options:",
  ];
  for (const spec of OPTIONS) {
    const left = `  --${spec.flag}${spec.value ? ` ${spec.value}` : ""}`;
    wrap(spec.help, 100 - 34).forEach((text, i) => lines.push((i === 0 ? left : "").padEnd(34) + text));
    const extra: string[] = [];
    if (spec.default) extra.push(`default ${spec.default}`);
    if (spec.env !== false) extra.push(`env ${envName(spec)}`);
    if (extra.length) lines.push("".padEnd(34) + `(${extra.join("; ")})`);
  }
  lines.push(
    "",
    "Exit codes: 0 stopped by SIGTERM/SIGINT, 1 unexpected error, 2 bad option,",
    "3 token rejected or revoked (HTTP 401 / close 4401), 4 replaced by another agent (close 4001).",
    "Logs go to stderr, one line per event. See packages/agent/README.md.",
  );
  return lines.join("\n") + "\n";
}
