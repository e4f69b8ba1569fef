#!/usr/bin/env node
// The agent's bin. In the repo it runs the TypeScript sources through tsx (as `npm run agent`
// does); in a packed package (no src/) it runs the bundle that `npm pack` built (build.mjs).
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

if (existsSync(path.join(__dirname, "../src/main.ts"))) {
  require("tsx/cjs");
  require("../src/main.ts");
} else {
  require("../dist/tether-agent.js");
}
