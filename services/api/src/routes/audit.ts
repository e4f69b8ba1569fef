import { Router } from "express";
import { AuditQuerySchema } from "@tether/protocol";
import type { AuditLog } from "@tether/core";
import { parseOr400 } from "../errors";
import { allowOrThrow } from "../access";
import { principalOf } from "../middleware/auth";

/** `GET /api/audit?after=ID&limit=N` (CONTRACT §4): admins only, oldest first. */
export function auditRoutes(deps: { audit: AuditLog }): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    allowOrThrow(principalOf(req), "audit.read");
    const q = parseOr400(AuditQuerySchema, req.query);
    res.json({ entries: await deps.audit.read(q.after, q.limit) });
  });
  return router;
}
