import type { FleetEvent } from "@tether/protocol";
import type { EventLog, Op } from "./event-log";

/** What a mutation of one projected record decides. */
export interface Change<T> {
  /** The new public record, or null to leave it as it is. */
  value: T | null;
  /** Private fields to set on the record's meta hash. */
  meta?: Record<string, string | number>;
  /** The event to append (and publish) with the write, if any. */
  event?: FleetEvent;
  extraOps?: Op[];
  /** Address the event to this team rather than the host's (see EventLog.append). */
  team?: string;
  /** A second event in the same atomic write (see EventLog.append). */
  then?: { event: FleetEvent; team: string; except?: string };
}

const MAX_CAS_ATTEMPTS = 20;

/**
 * Read-modify-write of one record of a projection (`hash[id]` = JSON, `metaKey` = private hash
 * with a version `v`), with compare-and-set on `v`, through the event log's atomic append. The
 * pure `mutate` decides; on a conflict it is called again on fresh state.
 */
export async function casUpdate<T>(opts: {
  log: EventLog;
  hash: string;
  id: string;
  metaKey: string;
  parse: (json: string) => T;
  mutate: (value: T, meta: Record<string, string>) => Change<T> | null;
}): Promise<{ value: T; meta: Record<string, string> } | null> {
  const { log, hash, id, metaKey } = opts;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const { json, meta } = await log.readRecord(hash, id, metaKey);
    if (!json || !meta.v) return null;
    const current = opts.parse(json);
    const change = opts.mutate(current, meta);
    if (!change) return null;
    const ops: Op[] = [{ cmd: "HINCRBY", key: metaKey, args: ["v", 1] }];
    const metaArgs = Object.entries(change.meta ?? {}).flat();
    if (metaArgs.length) ops.push({ cmd: "HSET", key: metaKey, args: metaArgs });
    if (change.value !== null) ops.push({ cmd: "HSET", key: hash, args: [id, JSON.stringify(change.value)] });
    ops.push(...(change.extraOps ?? []));
    const res = await log.append({
      event: change.event,
      guards: [{ key: metaKey, field: "v", equals: meta.v }],
      ops,
      team: change.team,
      then: change.then,
    });
    if (res.ok) return { value: change.value ?? current, meta: { ...meta, ...stringify(change.meta) } };
    // Someone else wrote in between: read again and decide again.
  }
  throw new Error(`${hash}/${id}: too much write contention`);
}

function stringify(meta: Record<string, string | number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) out[k] = String(v);
  return out;
}
