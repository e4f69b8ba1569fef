import { resolve } from "node:path";
import { runService } from "@tether/core";
import { createApi } from "./app";

/** Where `npm run build` puts the dashboard. */
const WEB_DIST = resolve(__dirname, "../../../web/dist");

/** The API alone: reads config, wires, handles signals. */
void runService(
  "api",
  ["command", "bullmq"],
  async ({ config, redis, clock, log, metrics, app }) => {
    if (config.sessionSecretGenerated) {
      log.warn(
        "SESSION_SECRET is not set: using a random one; sessions, users, tokens and hosts made now fail their MACs after a restart, and hubs cannot read them",
      );
    }
    if (config.commandSigningKeyGenerated) {
      log.warn("COMMAND_SIGNING_KEY is not set: using a random one; agents verifying commands reject them after a restart");
    }
    const api = createApi({ config, redis, clock, log, metrics, staticDir: WEB_DIST });
    await api.bootstrapAdmin({ generateIfNone: false });
    app.use(api.app);
    return { stop: () => api.close() };
  },
  { signsCommands: true },
);
