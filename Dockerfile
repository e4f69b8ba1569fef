# syntax=docker/dockerfile:1
# One image for every Tether service; the command picks which (docker-compose.yml):
#   node --import tsx services/api/src/main.ts      (the default)
#   node --import tsx services/hub/src/main.ts
#   node --import tsx services/worker/src/main.ts
# The services run their TypeScript through tsx (a runtime dependency), unbuilt, as in a checkout.
#
# Stages: manifests → deps (every dependency) → build (the dashboard bundle, web/dist)
#         manifests → prod-deps (`npm ci --omit=dev`) → runtime (non-root, no compilers, no tests)

ARG NODE_IMAGE=node:20-bookworm-slim

# --- package.json of the root and of every workspace, and the lockfile: what `npm ci` needs.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/core/package.json packages/core/
COPY packages/agent/package.json packages/agent/
# npm links the agent's bin at install time; the file must exist.
COPY packages/agent/bin packages/agent/bin
COPY services/hub/package.json services/hub/
COPY services/api/package.json services/api/
COPY services/worker/package.json services/worker/
COPY web/package.json web/

# --- Everything, dev tools included (esbuild for the dashboard).
FROM manifests AS deps
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# --- The dashboard bundle.
FROM deps AS build
COPY packages/protocol packages/protocol
COPY web web
RUN npm run build

# --- Runtime dependencies only: no TypeScript compiler, Jest, esbuild or Playwright.
FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# --- The image.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# node_modules (workspace packages are symlinks into /app) and the manifests.
COPY --from=prod-deps /app ./
COPY tsconfig.json tsconfig.base.json ./
COPY packages packages
COPY services services
COPY --from=build /app/web/dist web/dist
# Files stay root-owned and read-only to the service; tsx caches compiled files in /tmp.
USER node
# 8000: the service (PORT); 9000: its ops listener (OPS_PORT = PORT + 1000: /metrics, /healthz,
# /readyz), bound to 127.0.0.1 unless OPS_HOST opens it (the Compose file does, to its network).
EXPOSE 8000 9000
CMD ["node", "--import", "tsx", "services/api/src/main.ts"]
