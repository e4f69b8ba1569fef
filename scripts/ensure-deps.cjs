#!/usr/bin/env node
/**
 * Installs the Node dependencies when node_modules is missing or older than package-lock.json,
 * so `npm start` and `npm test` work on a fresh clone. Plain CommonJS with no dependencies: it
 * runs before there are any. Always `npm ci` on the committed lockfile (which lists every
 * platform's optional bindings, so npm 11 accepts it); a failure is reported as it is.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, statSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const marker = path.join(root, "node_modules/.package-lock.json");
const lock = path.join(root, "package-lock.json");
if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) process.exit(0);

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
process.stderr.write("tether: installing dependencies (npm ci)…\n");
const ci = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
if (ci.status !== 0) {
  process.stderr.write("tether: npm ci failed on the committed package-lock.json (see above)\n");
  process.exit(ci.status || 1);
}
