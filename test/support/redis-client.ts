import { Redis, type RedisOptions } from "ioredis";
import { withTimeout } from "./wait";

/**
 * An ioredis client for tests, with an error listener (a client without one crashes the test
 * process on the first connection error). Close it with {@link closeClient}.
 */
export function newRedisClient(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on("error", (err: Error) => {
    if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`[test redis client] ${err.message}\n`);
  });
  return client;
}

/** Closes a client: QUIT when connected (bounded to 2 s), else disconnect at once (no reconnect loop left behind). */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === "ready") {
    try {
      await withTimeout(client.quit(), 2000, () => "QUIT got no reply");
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect();
}

/** Resolves when a fresh connection to `url` is ready (accepts commands), retrying the connect every 50 ms. */
export async function waitForRedisReady(url: string, timeoutMs = 15_000): Promise<void> {
  let lastError = "no attempt yet";
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  client.on("error", (err: Error) => (lastError = err.message));
  try {
    const ready = new Promise<void>((resolve) => client.once("ready", () => resolve()));
    client.connect().catch(() => undefined); // failures surface as 'error' and are retried
    await withTimeout(ready, timeoutMs, () => `Redis at ${url} not ready; last error: ${lastError}`);
  } finally {
    client.disconnect();
  }
}

/** Asks the server to write its dump now, so a restart from the same dir/volume loads it. */
export async function saveNow(url: string): Promise<void> {
  const client = newRedisClient(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
  try {
    await client.connect();
    await client.save();
  } finally {
    await closeClient(client);
  }
}

/** `SHUTDOWN SAVE`: the server dumps its data and exits at once; no write slips in between. */
export async function shutdownSave(url: string): Promise<void> {
  const client = newRedisClient(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
  try {
    await client.connect();
    await client.call("SHUTDOWN", "SAVE").catch(() => undefined); // the connection drops as it exits
  } finally {
    client.disconnect();
  }
}
