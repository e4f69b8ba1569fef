# syntax=docker/dockerfile:1
# One image for every Tether service; the command picks which (docker-compose.yml, deploy/kubernetes):
#   node --enable-source-maps services/api/dist/main.js      (the default)
#   node --enable-source-maps services/hub/dist/main.js
#   node --enable-source-maps services/worker/dist/main.js
# The services run as JavaScript built by `npm run build` (esbuild, scripts/build.ts; node_modules
# stay external), not TypeScript through tsx: ready sooner and smaller (README "Production build").
#
# Stages: manifests → deps (every dependency) → build (services' dist/ and the dashboard, web/dist)
#         manifests → prod-deps (`npm ci --omit=dev`) → runtime (non-root, no compilers, no sources, no tests)

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

# --- The services' JavaScript and the dashboard bundle.
FROM deps AS build
COPY tsconfig.base.json ./
COPY scripts/build.ts scripts/
COPY packages packages
COPY services services
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
# node_modules and the manifests. The workspace packages are bundled into each service's
# main.js, so their sources are not needed (their node_modules symlinks are left dangling).
COPY --from=prod-deps /app ./
COPY --from=build /app/services/api/dist services/api/dist
COPY --from=build /app/services/hub/dist services/hub/dist
COPY --from=build /app/services/worker/dist services/worker/dist
COPY --from=build /app/web/dist web/dist
# Files stay root-owned and read-only to the service.
USER node
EXPOSE 8000
CMD ["node", "--enable-source-maps", "services/api/dist/main.js"]
