import { Router } from "express";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";

/** `/healthz` (process up), `/readyz` (every Redis connection ready), `/metrics` (Prometheus). */
export function opsRoutes(opts: {
  connections: Redis[];
  registry: Registry;
  isShuttingDown?: () => boolean;
  /** Refresh gauges that are read on demand (queue depth) before each scrape. */
  collect?: () => Promise<void>;
}): Router {
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
  router.get("/metrics", async (_req, res) => {
    await opts.collect?.().catch(() => undefined);
    res.setHeader("Content-Type", opts.registry.contentType);
    res.send(await opts.registry.metrics());
  });
  return router;
}
