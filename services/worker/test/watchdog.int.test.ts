/**
 * The worker watchdog against a real Redis: a BullMQ worker that stops taking jobs while some are
 * due is replaced, and the due jobs run; an idle worker with nothing due is left alone. The wedge
 * seen after a cluster failover (BullMQ's blocking connection never taking a job again) is
 * stood in for by a worker paused locally: it too stays open, says nothing and takes nothing.
 */
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { createLogger } from "@tether/core";
import { WorkerWatchdog } from "../src/watchdog";
import { closeClient, newRedisClient, startTestRedis, type TestRedis } from "../../../test/support/redis";
import { withTimeout } from "../../../test/support/wait";

let server: TestRedis;
let connection: Redis;
const log = createLogger({ level: "silent", nodeId: "t", service: "watchdog-test" });

beforeAll(async () => {
  server = await startTestRedis();
  connection = newRedisClient(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await closeClient(connection);
  await server?.stop();
});

/** A queue, a watched worker that records the jobs it ran, and a stream of the watchdog's verdicts. */
function setup(name: string) {
  const prefix = server.newPrefix();
  const queue = new Queue(name, { connection, prefix });
  const ran: string[] = [];
  const verdicts: string[] = [];
  const waiters: Array<() => void> = [];
  const dog = new WorkerWatchdog(
    queue,
    () =>
      new Worker(
        name,
        async (job) => {
          ran.push(job.name);
        },
        { connection, prefix },
      ),
    {
      staleMs: 600,
      checkMs: 100,
      log,
      onCheck: (v) => {
        verdicts.push(v);
        for (const w of waiters.splice(0)) w();
      },
    },
  );
  /** Resolves once `n` jobs have run (polled every 20 ms; the caller bounds it). */
  const ranAtLeast = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (ran.length >= n ? resolve() : setTimeout(check, 20));
      check();
    });
  /** Resolves once `n` more looks have been taken. */
  const looks = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => waiters.push(r));
  };
  return { queue, dog, ran, verdicts, looks, ranAtLeast };
}

test("a worker that takes nothing while jobs are due is replaced, and the jobs run", async () => {
  const { queue, dog, ran, verdicts, ranAtLeast } = setup("wedged");
  try {
    await dog.current.waitUntilReady();
    dog.start();
    const first = dog.current;
    await queue.add("before", {});
    await withTimeout(ranAtLeast(1), 5_000, () => `ran ${ran.join(",")}`);
    await first.pause(); // wedged: open, silent, taking nothing
    await queue.add("during", {});
    await withTimeout(ranAtLeast(2), 10_000, () => `ran ${ran.join(",")}; verdicts ${verdicts.join(",")}`);
    expect(ran).toEqual(["before", "during"]);
    expect(dog.replaced).toBe(1);
    expect(dog.current).not.toBe(first);
    expect(verdicts).toContain("stuck");
  } finally {
    await dog.close();
    await queue.close();
  }
});

test("a delayed job overdue under a wedged worker counts as due too", async () => {
  const { queue, dog, ran, verdicts, ranAtLeast } = setup("overdue");
  try {
    await dog.current.waitUntilReady();
    await dog.current.pause(true);
    dog.start();
    await queue.add("later", {}, { delay: 200 });
    await withTimeout(ranAtLeast(1), 10_000, () => `verdicts ${verdicts.join(",")}`);
    expect(ran).toEqual(["later"]);
    expect(dog.replaced).toBe(1);
  } finally {
    await dog.close();
    await queue.close();
  }
});

test("an idle worker with nothing due is left alone", async () => {
  const { queue, dog, verdicts, looks } = setup("idle");
  try {
    await dog.current.waitUntilReady();
    const first = dog.current;
    dog.start();
    // Past staleMs (600 ms at 100 ms a look): at least a few looks find it quiet and nothing due.
    while (!verdicts.includes("idle")) await looks(1);
    await looks(3);
    expect(verdicts).not.toContain("stuck");
    expect(dog.replaced).toBe(0);
    expect(dog.current).toBe(first);
  } finally {
    await dog.close();
    await queue.close();
  }
});
