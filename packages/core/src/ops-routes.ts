import { createHash, timingSafeEqual } from "node:crypto";
import { Router, type RequestHandler } from "express";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";

/** What the ops routes read. */
export interface OpsRoutesOptions {
  connections: Redis[];
  registry: Registry;
  isShuttingDown?: () => boolean;
  /** Refresh gauges that are read on demand (queue depth) before each scrape. */
  collect?: () => Promise<void>;
}

/** `/healthz` (process up) and `/readyz` (every Redis connection ready): on PORT and on the ops listener. */
export function healthRoutes(opts: OpsRoutesOptions): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", (_req, res) => {
    const notReady = opts.connections.filter((c) => c.status !== "ready").map((c) => c.options.connectionName ?? "redis");
    if (opts.isShuttingDown?.()) {
      res.status(503).json({ status: "shutting_down" });
    } else if (notReady.length) {
      res.status(503).json({ status: "not_ready", waiting_for: notReady });
    } else {
      res.json({ status: "ready" });
    }
  });
  return router;
}

/** `GET /metrics` (Prometheus text format). */
export function metricsHandler(opts: OpsRoutesOptions): RequestHandler {
  return async (_req, res) => {
    await opts.collect?.().catch(() => undefined);
    res.setHeader("Content-Type", opts.registry.contentType);
    res.send(await opts.registry.metrics());
  };
}

/** Every ops route, unguarded: what the ops listener (OPS_HOST:OPS_PORT) serves. */
export function opsRoutes(opts: OpsRoutesOptions): Router {
  const router = healthRoutes(opts);
  router.get("/metrics", metricsHandler(opts));
  return router;
}

/**
 * The routes a service's public PORT carries (CONTRACT §1 v2): /healthz and /readyz as ever, and
 * /metrics only for `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); without a token
 * configured it is not there at all (404), and the ops listener is the place to scrape.
 */
export function publicOpsRoutes(opts: OpsRoutesOptions & { metricsToken?: string | undefined }): Router {
  const router = healthRoutes(opts);
  const expected = opts.metricsToken === undefined ? null : digest(opts.metricsToken);
  router.get(
    "/metrics",
    (req, res, next) => {
      if (expected === null) {
        res.status(404).json({ error: { code: "not_found", message: "no such endpoint" } });
        return;
      }
      const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? "");
      // Compared as digests, so the time taken says nothing about the token's length or prefix.
      if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
        res.status(401).json({ error: { code: "unauthenticated", message: "metrics need Authorization: Bearer <METRICS_TOKEN>" } });
        return;
      }
      next();
    },
    metricsHandler(opts),
  );
  return router;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
