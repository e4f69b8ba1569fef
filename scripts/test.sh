#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need on a fresh Debian machine, then
# type-checks, builds the dashboard and runs every Jest project (unit, int, e2e), failing fast.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
log() { printf '\n== %s\n' "$*"; }
finish() {
  local rc=$?
  printf '\n== npm test %s in %ss\n' "$([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)")" "$(($(date +%s) - started))"
}
trap finish EXIT

# --- Node dependencies: `npm ci` when node_modules is missing or older than the lockfile (the
# same step `npm start` runs first).
node scripts/ensure-deps.cjs

# --- System packages: redis-server (throwaway test Redis), chromium (dashboard tests), nginx
# (load-balancer test). Installed only, never started: tests spawn their own on free ports.
APT_LOG="${TMPDIR:-/tmp}/tether-test-apt.log"
apt_updated=0
need_package() { # need_package <binary> <debian package>
  local binary=$1 package=$2
  if command -v "$binary" >/dev/null 2>&1 || [ -x "/usr/sbin/$binary" ] || [ -x "/usr/bin/$binary" ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: '$binary' is missing and this is not root: install the Debian package '$package' (sudo apt-get install -y $package) and run npm test again" >&2
    exit 1
  fi
  log "apt-get install $package (log: $APT_LOG)"
  # Keep postinst scripts from starting the system service (a Redis on 6379, an nginx on 80).
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  local rc=0
  {
    if [ "$apt_updated" -eq 0 ]; then apt-get update; fi &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package"
  } >>"$APT_LOG" 2>&1 || rc=$?
  if [ "$made_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" -ne 0 ]; then
    echo "error: apt-get install $package failed (exit $rc); last lines of $APT_LOG:" >&2
    tail -n 30 "$APT_LOG" >&2
    exit 1
  fi
  apt_updated=1
}
need_package redis-server redis-server
need_package chromium chromium
need_package nginx nginx

# --- Type-check everything (tsc -b follows the project's tsconfig).
log "type-check (tsc -b)"
npx --no-install tsc -b
npm run --silent typecheck -w web

# --- One format, one set of lint rules: CI fails on either.
log "prettier --check and eslint (type-checked)"
npx --no-install prettier --check . --log-level warn
npx --no-install eslint . --max-warnings 0

# --- Dashboard bundle (the e2e tests serve and drive it).
if [ -f web/build.mjs ]; then
  log "build (npm run build)"
  npm run build
else
  log "build skipped: web/build.mjs does not exist yet"
fi

# --- Every Jest project: unit, int, e2e.
log "jest --ci"
npx --no-install jest --ci

# --- Two minutes of random faults under load, fixed seed, checked (README "Chaos").
log "chaos (npm run chaos -- --minutes 2 --seed 1)"
npm run chaos -- --minutes 2 --seed 1
