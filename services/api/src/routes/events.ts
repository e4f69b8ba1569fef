import { Router } from "express";
import { EventsQuerySchema } from "@tether/protocol";
import type { EventLog } from "@tether/core";
import { parseOr400 } from "../errors";

/**
 * `GET /api/events?after=ID&limit=N`: the log after ID, oldest first. An `after` that is no longer
 * in the log (trimmed, or from before Redis lost its data) answers from the oldest event kept,
 * with `resync: true` (an addition), never a silent gap.
 */
export function eventRoutes(deps: { eventLog: EventLog }): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    const q = parseOr400(EventsQuerySchema, req.query);
    const point = q.after === undefined ? null : await deps.eventLog.resumePoint(q.after);
    const epoch = point?.epoch ?? (await deps.eventLog.epoch());
    const { frames } = await deps.eventLog.readFrames(epoch, point?.streamId ?? "-", q.limit);
    const resync = q.after !== undefined && point === null;
    res.type("application/json").send(`{"events":[${frames.join(",")}]${resync ? ',"resync":true' : ""}}`);
  });
  return router;
}
