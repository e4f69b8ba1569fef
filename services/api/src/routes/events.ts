import { Router } from "express";
import { EventsQuerySchema } from "@tether/protocol";
import { allowOrThrow } from "../access";
import { audienceOf, audienceSees, type EventLog } from "@tether/core";
import { parseOr400 } from "../errors";
import { principalOf } from "../middleware/auth";

/** Events are read from the log in pages of this many while filtering for an audience. */
const PAGE = 1000;

/**
 * `GET /api/events?after=ID&limit=N`: the log after ID, oldest first, only the events of hosts
 * the caller may see (CONTRACT §4: the same policy as the sockets' replay). An `after` that is no
 * longer in the log (trimmed, or from before Redis lost its data) answers from the oldest event
 * kept, with `resync: true` (an addition), never a silent gap.
 */
export function eventRoutes(deps: { eventLog: EventLog }): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "events.read");
    const audience = audienceOf(p);
    const q = parseOr400(EventsQuerySchema, req.query);
    const point = q.after === undefined ? null : await deps.eventLog.resumePoint(q.after);
    const epoch = point?.epoch ?? (await deps.eventLog.epoch());
    const out: string[] = [];
    let from = point?.streamId ?? "-";
    // Invisible events are skipped, never counted: read on until `limit` are found or the log ends.
    for (;;) {
      const { entries, lastStreamId } = await deps.eventLog.readFrames(epoch, from, audience === null ? q.limit : PAGE);
      for (const e of entries) {
        if (out.length < q.limit && audienceSees(audience, e.team, e.except)) out.push(e.frame);
      }
      if (audience === null || out.length >= q.limit || entries.length < PAGE || !lastStreamId) break;
      from = lastStreamId;
    }
    const resync = q.after !== undefined && point === null;
    res.type("application/json").send(`{"events":[${out.join(",")}]${resync ? ',"resync":true' : ""}}`);
  });
  return router;
}
