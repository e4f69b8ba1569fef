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
};
export default config;
