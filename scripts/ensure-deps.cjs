#!/usr/bin/env node
/**
 * Installs the Node dependencies when node_modules is missing or older than package-lock.json,
 * so `npm start` and `npm test` work on a fresh clone. Plain CommonJS with no dependencies: it
 * runs before there are any. `npm ci` first; npm 11.x may refuse its own lockfile there (it omits
 * other platforms' optional bindings, then calls them missing), and then `npm install` installs
 * the same locked versions.
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
const run = (args, capture) =>
  spawnSync(npm, args, { cwd: root, stdio: capture ? ["ignore", "inherit", "pipe"] : "inherit", encoding: "utf8" });

process.stderr.write("tether: installing dependencies (npm ci)…\n");
const ci = run(["ci", "--no-audit", "--no-fund"], true);
if (ci.status === 0) process.exit(0);
if (!/Missing: .* from lock file/.test(ci.stderr || "")) {
  process.stderr.write(ci.stderr || "");
  process.exit(ci.status || 1);
}
const version = spawnSync(npm, ["--version"], { encoding: "utf8" }).stdout.trim();
process.stderr.write(
  `tether: npm ${version} refused its own lockfile in npm ci (optional-binding bug); npm install with the same lockfile\n`,
);
const install = run(["install", "--no-audit", "--no-fund"], false);
process.exit(install.status || 0);
