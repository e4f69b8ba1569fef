import { runService } from "@tether/core";
import { createHub } from "./hub";

/** One hub node: reads config, wires, handles signals. */
void runService(
  "hub",
  ["command", "subscriber", "bullmq"],
  async ({ config, redis, clock, log, metrics }) => {
    if (config.sessionSecretGenerated) {
      log.warn(
        "SESSION_SECRET is not set: browsers and agents whose sessions and tokens another process made cannot connect to this hub (record MACs)",
      );
    }
    if (config.commandSigningKeyGenerated) {
      log.warn("COMMAND_SIGNING_KEY is not set: using a random one; agents holding the api's key reject what this hub signs");
    }
    const hub = createHub({ config, redis, clock, log, metrics });
    await hub.start();
    return { attach: (server) => hub.attach(server), stop: () => hub.close() };
  },
  { signsCommands: true },
);
