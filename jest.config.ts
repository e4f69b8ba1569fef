import type { Config } from "jest";

/** Tests by tier: `*.unit.test.ts` pure, `*.int.test.ts` real Redis and sockets, `*.e2e.test.ts` real processes and Chromium. */
const transform: Config["transform"] = {
  "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.base.json", diagnostics: false }],
};
const shared = { testEnvironment: "node", transform, moduleFileExtensions: ["ts", "js", "json"] };

const config: Config = {
  projects: [
    { ...shared, displayName: "unit", testMatch: ["<rootDir>/**/*.unit.test.ts"], testPathIgnorePatterns: ["/node_modules/"] },
    {
      ...shared,
      displayName: "int",
      testMatch: ["<rootDir>/**/*.int.test.ts"],
      testPathIgnorePatterns: ["/node_modules/"],
      slowTestThreshold: 20,
    },
    {
      ...shared,
      displayName: "e2e",
      testMatch: ["<rootDir>/**/*.e2e.test.ts"],
      testPathIgnorePatterns: ["/node_modules/"],
      slowTestThreshold: 60,
    },
  ],
  // A ceiling, not a target (global: Jest 30 ignores a project's own). An e2e stack start may take
  // up to the harness's 60 s readiness deadline on a loaded machine; its hooks need room beyond it.
  testTimeout: 120_000,
  // Files run in a worker that is replaced once its heap passes this after a file, never in
  // Jest's own process: in band the heap grew ~30 MB a file (each file's module registry is kept)
  // to 1 GiB by the 31st file; GC pauses reached 271 ms and the test process stalled for up to
  // 0.9 s beside them, long enough for a hub to find a test's browser silent through a 300 ms
  // keepalive and cut it (1006). In workers the heap stays under ~280 MB (pauses over 100 ms: 20 → 3).
  // Setting it is also what makes Jest use a worker at all on a 2-core machine (maxWorkers 1).
  workerIdleMemoryLimit: "256MB",
};
export default config;
