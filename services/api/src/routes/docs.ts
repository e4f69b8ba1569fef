import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import express, { Router } from "express";
import { HttpError } from "../errors";
import { buildOpenApiDocument } from "../openapi";

/** openapi-explorer's self-contained browser bundle (a web component; no CDN, no fonts fetched). */
const EXPLORER_PACKAGE = dirname(require.resolve("openapi-explorer/package.json"));
const EXPLORER_VERSION = (JSON.parse(readFileSync(join(EXPLORER_PACKAGE, "package.json"), "utf8")) as { version: string }).version;
/** The bundle's URL carries its version, so it can be cached for a year and never go stale. */
export const EXPLORER_SCRIPT = `/api/docs/assets/${EXPLORER_VERSION}/openapi-explorer.min.js`;

/**
 * The docs page's own CSP (it replaces the api's for this one response): the api's, plus
 * `style-src 'unsafe-inline'`, because openapi-explorer (Lit) writes inline `style` attributes
 * and `<style>` elements into its shadow roots. Scripts stay `'self'` only, nothing inline.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Tether API</title>
    <link rel="icon" href="data:," />
    <script src="${EXPLORER_SCRIPT}"></script>
  </head>
  <body style="margin: 0">
    <openapi-explorer
      spec-url="/api/openapi.json"
      hide-server-selection="true"
      fill-defaults="false"
      collapse="true"
      style="--font-regular: system-ui, sans-serif; --font-mono: ui-monospace, monospace"
    >
      <div slot="overview"><h1>Tether API</h1><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>.</p></div>
    </openapi-explorer>
  </body>
</html>
`;

/**
 * `GET /api/openapi.json` (the OpenAPI document, built once on first use) and `GET /api/docs` (a
 * page rendering it, the script served from node_modules). Public, like `/api/signing-keys`:
 * what the api accepts is no secret (the source says the same), and nothing here reads Redis.
 */
export function docsRoutes(deps: { maxBody: string }): Router {
  const router = Router();
  let document: string | undefined;

  router.get("/openapi.json", (_req, res) => {
    document ??= JSON.stringify(buildOpenApiDocument({ maxBody: deps.maxBody }));
    // Revalidated on every use (an ETag makes that cheap): it changes when the api is upgraded.
    res.setHeader("Cache-Control", "no-cache");
    res.type("application/json").send(document);
  });

  router.get("/docs", (_req, res) => {
    res.setHeader("Content-Security-Policy", DOCS_CSP);
    res.setHeader("Cache-Control", "no-cache");
    res.type("html").send(PAGE);
  });

  router.use(
    `/docs/assets/${EXPLORER_VERSION}`,
    express.static(join(EXPLORER_PACKAGE, "dist", "browser"), { index: false, maxAge: "365d", immutable: true }),
  );
  // Any other asset (another version's, from a stale page) is a plain 404, session or not.
  router.use("/docs/assets", (_req, _res, next) => next(new HttpError(404, "not_found", "no such asset")));
  return router;
}
