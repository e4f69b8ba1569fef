/** Where a {@link TestRedis} comes from. */
export type TestRedisKind = "shared" | "container" | "binary";

/** One way of providing a test Redis; `wrap` in redis.ts turns it into a TestRedis. */
export interface Backend {
  kind: TestRedisKind;
  host: string;
  port: number;
  pid(): number | undefined;
  stopServer(keepData: boolean): Promise<void>;
  startServer(): Promise<void>;
  /** Stop and remove an owned server; for a shared one, delete the keys under `prefixes`. */
  dispose(prefixes: readonly string[]): Promise<void>;
}
