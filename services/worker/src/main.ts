import { runService } from "@tether/core";
import { createWorker } from "./worker";

/** One worker: reads config, wires, handles signals. Several may run at once. */
void runService("worker", ["command", "bullmq"], async ({ config, redis, clock, log, metrics }) => {
  const worker = createWorker({ config, redis, clock, log, metrics });
  await worker.start();
  return { collect: () => worker.collect(), stop: () => worker.close() };
});
