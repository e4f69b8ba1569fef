import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";
import { runService, type Logger } from "@tether/core";
import { createApi } from "../services/api/src/app";
import { createHub } from "../services/hub/src/hub";
import { createWorker } from "../services/worker/src/worker";
import { ensureDashboardBuilt } from "./dashboard-build";

const ROOT = resolve(__dirname, "..");
const WEB_DIST = resolve(ROOT, "web/dist");

/** Does something answer on host:port? */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const sock = connect({ host, port });
    sock.setTimeout(500);
    sock.once("connect", () => (sock.destroy(), done(true)));
    sock.once("timeout", () => (sock.destroy(), done(false)));
    sock.once("error", () => done(false));
  });
}

/**
 * With no REDIS_URL and nothing on 127.0.0.1:6379, start a local redis-server (AOF on, data in
 * .data/redis) so a fresh clone runs with one command.
 */
async function localRedis(log: Logger): Promise<ChildProcess | null> {
  if (process.env.REDIS_URL || (await answers("127.0.0.1", 6379))) return null;
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    process.stderr.write(
      "tether: no Redis at 127.0.0.1:6379 and no redis-server binary.\n" +
        "  Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n" +
        "  or point REDIS_URL at a Redis 7 server.\n",
    );
    process.exit(1);
  }
  const dir = resolve(ROOT, ".data/redis");
  mkdirSync(dir, { recursive: true });
  const child = spawn("redis-server", ["--port", "6379", "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", ""], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((ok, fail) => {
    child.once("exit", (code) => fail(new Error(`redis-server exited with ${code}`)));
    child.stdout?.on("data", (b: Buffer) => b.toString().includes("Ready to accept connections") && ok());
  });
  log.info({ dir }, "started a local redis-server (AOF on)");
  return child;
}

/** Where `npm start` keeps its command signing key (CONTRACT §5), created on the first start. */
const SIGNING_KEY_FILE = resolve(ROOT, ".data/command-signing-key.pem");

/**
 * Without COMMAND_SIGNING_KEY(_FILE), use the key in .data/, creating it (mode 0600) on the first
 * start, so agents given its public key keep verifying across restarts. Never printed or logged.
 */
function withLocalSigningKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.COMMAND_SIGNING_KEY !== undefined || env.COMMAND_SIGNING_KEY_FILE !== undefined) return env;
  mkdirSync(resolve(ROOT, ".data"), { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  try {
    // "wx": never overwrite a key agents already trust (two starts racing keep the first one).
    writeFileSync(SIGNING_KEY_FILE, pem, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  chmodSync(SIGNING_KEY_FILE, 0o600);
  return { ...env, COMMAND_SIGNING_KEY_FILE: SIGNING_KEY_FILE };
}

/** Where `npm start` keeps its SESSION_SECRET when none is set, created on the first start. */
const SESSION_SECRET_FILE = resolve(ROOT, ".data/session-secret");

/**
 * Without SESSION_SECRET, use the one in .data/, creating it (mode 0600) on the first start: it
 * keys the MACs of users, tokens and hosts (issue 13.3), so a random one per start would make
 * every record unverifiable after a restart. Never printed or logged.
 */
function withLocalSessionSecret(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.SESSION_SECRET !== undefined) return env;
  mkdirSync(resolve(ROOT, ".data"), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(SESSION_SECRET_FILE, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  chmodSync(SESSION_SECRET_FILE, 0o600);
  return { ...env, SESSION_SECRET: readFileSync(SESSION_SECRET_FILE, "utf8").trim() };
}

const localSessionSecret = process.env.SESSION_SECRET === undefined;

/** Everything in one process: api + hub + worker + dashboard on PORT. */
void runService(
  "all",
  ["command", "subscriber", "bullmq"],
  async ({ config, redis, clock, log, metrics, app }) => {
    if (localSessionSecret) {
      log.warn(
        { file: SESSION_SECRET_FILE },
        "SESSION_SECRET is not set: using the one npm start keeps in .data (created on the first start)",
      );
    }
    const api = createApi({ config, redis, clock, log, metrics, staticDir: WEB_DIST });
    const hub = createHub({ config, redis, clock, log, metrics });
    const worker = createWorker({ config, redis, clock, log, metrics });
    const admin = await api.bootstrapAdmin({ generateIfNone: true });
    await worker.start();
    await hub.start();
    app.use(api.app);
    return {
      attach: (server) => hub.attach(server),
      collect: () => worker.collect(),
      listening(port) {
        if (admin) {
          // Printed once, never logged: the only time this password is shown.
          process.stdout.write(`\n  Tether created the first user.\n  username: ${admin.username}\n  password: ${admin.password}\n\n`);
        }
        log.info({ port, url: `http://localhost:${port}` }, "tether is up");
      },
      async stop() {
        await hub.close();
        await worker.close();
        await api.close();
      },
    };
  },
  {
    signsCommands: true,
    env: () => withLocalSessionSecret(withLocalSigningKey(process.env)),
    async prepare({ log }) {
      // A fresh clone has no web/dist: build the dashboard (a second or two) before serving it.
      ensureDashboardBuilt();
      const redisChild = await localRedis(log);
      return () => redisChild?.kill("SIGTERM");
    },
  },
);
