/**
 * `tether-agent` entry point: reads the config, wires the agent, handles signals. Nothing else.
 */
import { ConfigError, loadConfig } from "./config";
import { AGENT_VERSION } from "./identity";
import { createAgent } from "./agent";
import { ExitCode } from "./connection";
import { createLog } from "./log";
import { helpText } from "./options";

function exit(code: number): never {
  // stderr may be a pipe: let the last line out before leaving.
  process.stderr.write("", () => process.exit(code));
  throw new Error("unreachable");
}

function main(): void {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tether-agent: ${err.message}\n`);
    process.exit(ExitCode.BAD_OPTION);
  }
  if (loaded.kind === "help") return void process.stdout.write(helpText());
  if (loaded.kind === "version") return void process.stdout.write(`${AGENT_VERSION}\n`);

  const { config } = loaded;
  const log = createLog({ level: config.logLevel, secrets: [config.token] });
  const agent = createAgent({ config, log });
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      log.info("signal", { signal });
      // A second signal while stopping (an impatient Ctrl-C) leaves at once.
      if (stopping) exit(ExitCode.ERROR);
      stopping = true;
      void agent.stop();
    });
  }
  process.on("uncaughtException", (err) => {
    // Unknown state: leave, and let the supervisor restart us (the state file prevents reruns).
    log.error("crash", { error: err.stack ?? String(err) });
    exit(ExitCode.ERROR);
  });
  try {
    agent.start();
  } catch (err) {
    log.error("cannot_start", { error: (err as Error).message });
    exit(ExitCode.ERROR);
  }
  void agent.exited.then((code) => exit(code));
}

main();
