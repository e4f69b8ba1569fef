/** A test Redis in a `redis:7-alpine` container through testcontainers, used where a Docker engine answers. */
import { execFile } from "node:child_process";
import { freePort } from "./ports";
import type { Backend } from "./redis-backend";
import { saveNow, waitForRedisReady } from "./redis-client";

let dockerCheck: Promise<boolean> | undefined;

/** Whether a Docker engine answers `docker info` within 3 s (the CLI alone is not enough). Checked once per suite. */
export function dockerEngineAnswers(): Promise<boolean> {
  dockerCheck ??= new Promise((resolve) => {
    execFile("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 3000 }, (err, stdout) => {
      resolve(!err && stdout.trim().length > 0);
    });
  });
  return dockerCheck;
}

/** Starts `redis:7-alpine` on a free host port; stop/start keep that port. */
export async function containerBackend(): Promise<Backend> {
  // Loaded lazily: most runs use the binary and never pay for testcontainers' import.
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  // A fixed host port (chosen free) so that stop/start keeps the URL; Docker would pick a new one otherwise.
  let started: Awaited<ReturnType<InstanceType<typeof GenericContainer>["start"]>> | undefined;
  let hostPort: number;
  for (let attempt = 1; ; attempt++) {
    hostPort = await freePort();
    try {
      started = await new GenericContainer("redis:7-alpine")
        .withCommand(["redis-server", "--save", "", "--appendonly", "no"])
        .withExposedPorts({ container: 6379, host: hostPort })
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .withStartupTimeout(60_000)
        .start();
      break;
    } catch (err) {
      if (!/port is already allocated|address already in use/i.test(String(err)) || attempt >= 5) throw err;
    }
  }
  const container = started;
  const host = container.getHost();
  const url = `redis://${host}:${hostPort}`;
  let running = true;
  const runtime = await getContainerRuntimeClient();
  const dockerContainer = runtime.container.getById(container.getId());
  return {
    kind: "container",
    host,
    port: hostPort,
    pid: () => undefined,
    async stopServer(keepData) {
      if (!running) return;
      if (keepData) await saveNow(url);
      else await container.exec(["rm", "-f", "/data/dump.rdb"]); // an earlier keepData dump would be loaded at start
      await runtime.container.stop(dockerContainer, { timeout: 10_000 });
      running = false;
    },
    async startServer() {
      if (running) return;
      await runtime.container.start(dockerContainer);
      running = true;
      await waitForRedisReady(url);
    },
    async dispose() {
      await container.stop({ remove: true });
    },
  };
}
