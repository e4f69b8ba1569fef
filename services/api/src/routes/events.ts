import { Router } from "express";
import { EventsQuerySchema } from "@tether/protocol";
import { allowOrThrow } from "../access";
import { audienceOf, audienceSees, cursorId, headOf, withId, type LogReader } from "@tether/core";
import { parseOr400 } from "../errors";
import { principalOf } from "../middleware/auth";

/** Events are read from the log in pages of this many while filtering for an audience. */
const PAGE = 1000;

/**
 * `GET /api/events?after=ID&limit=N`: the log after ID, oldest first (the partitions merged by
 * time, every host's events in order), only the events of hosts the caller may see (CONTRACT §4:
 * the same policy as the sockets' replay). Each id resumes exactly as a socket's does (§7). An
 * `after` that is no longer in the log (trimmed, or from before Redis lost its data) answers from
 * the oldest event kept, with `resync: true` (an addition), never a silent gap.
 */
export function eventRoutes(deps: { reader: LogReader }): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "events.read");
    const audience = audienceOf(p);
    const q = parseOr400(EventsQuerySchema, req.query);
    const resumed = q.after === undefined ? null : await deps.reader.resume(q.after);
    const start = resumed ?? (await deps.reader.fromStart());
    const heads = start.positions.map(headOf);
    const single = heads.length === 1;
    const out: string[] = [];
    // Invisible events are skipped, never counted: read on until `limit` are found or the log ends.
    // Read in pages of `limit` when every event counts, else of PAGE.
    for await (const e of deps.reader.read(start, audience === null ? q.limit : PAGE)) {
      heads[e.p] = e.head;
      if (!audienceSees(audience, e.team, e.except)) continue;
      out.push(single ? e.frame : withId(e.frame, cursorId(e.p, heads, start.epochs)));
      if (out.length >= q.limit) break;
    }
    const resync = q.after !== undefined && resumed === null;
    res.type("application/json").send(`{"events":[${out.join(",")}]${resync ? ',"resync":true' : ""}}`);
  });
  return router;
}
