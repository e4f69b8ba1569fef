#!/bin/sh
# Prints the Redis ACL file for Tether (docker-compose.yml's Redis runs it at start, and
# test/e2e/redis-auth.e2e.test.ts starts a real redis-server with its output):
#   - the `default` user off: a connection without credentials can do nothing;
#   - `healthcheck`, without a password, allowed PING and nothing else (the Compose healthcheck);
#   - one user per service, tether-api, tether-hub and tether-worker, each with its own password
#     (REDIS_API_PASSWORD, REDIS_HUB_PASSWORD, REDIS_WORKER_PASSWORD) and the rules of
#     service-user.acl beside this file, for keys and channels under REDIS_PREFIX only.
# Passwords must be URL-safe (they go into REDIS_URL as they are): letters, digits, - and _.
set -eu
here=$(dirname "$0")
prefix=${REDIS_PREFIX:-tether}
rules=$(sed "s/PREFIX/$prefix/g" "$here/service-user.acl")
echo "user default off"
echo "user healthcheck on nopass -@all +ping"
for service in api hub worker; do
  variable="REDIS_$(echo "$service" | tr a-z A-Z)_PASSWORD"
  eval "password=\${$variable:-}"
  case "$password" in
    "" | *[!A-Za-z0-9_-]*)
      echo "render-acl: set $variable (letters, digits, - and _ only; e.g. openssl rand -hex 32)" >&2
      exit 1
      ;;
  esac
  echo "user tether-$service on >$password $rules"
done
