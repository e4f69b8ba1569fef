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
 * A writer's copy of a record as its own last write left it (a hub's, of the host it holds), so
 * its next update can skip the read: the guard on `v` proves the copy is still the stored state,
 * because every write of a record or its meta bumps `v` (casUpdate, creation, removal; only the
 * offline `npm run rebuild` rewrites records in place, from the same facts). On a mismatch the
 * update reads and decides again, as without a copy. `known` is set by casUpdate, never by hand.
 */
export interface RecordCache<T> {
  known?: { value: T; meta: Record<string, string> } | undefined;
}

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
  /** Try this copy first, and keep the written state in it (see RecordCache). */
  cache?: RecordCache<T>;
}): Promise<{ value: T; meta: Record<string, string> } | null> {
  const { log, hash, id, metaKey, cache } = opts;
  let known = cache?.known;
  if (cache) cache.known = undefined;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    let current: T;
    let meta: Record<string, string>;
    let change: Change<T> | null;
    if (known) {
      ({ value: current, meta } = known);
      known = undefined;
      change = opts.mutate(current, meta);
      // Declined on the copy: decide again on the stored state, which may differ.
      if (!change) continue;
    } else {
      const read = await log.readRecord(hash, id, metaKey);
      if (!read.json || !read.meta.v) return null;
      meta = read.meta;
      current = opts.parse(read.json);
      change = opts.mutate(current, meta);
      if (!change) return null;
    }
    const ops: Op[] = [{ cmd: "HINCRBY", key: metaKey, args: ["v", 1] }];
    const metaArgs = Object.entries(change.meta ?? {}).flat();
    if (metaArgs.length) ops.push({ cmd: "HSET", key: metaKey, args: metaArgs });
    if (change.value !== null) ops.push({ cmd: "HSET", key: hash, args: [id, JSON.stringify(change.value)] });
    ops.push(...(change.extraOps ?? []));
    const res = await log.append({
      event: change.event,
      guards: [{ key: metaKey, field: "v", equals: meta.v ?? "" }],
      ops,
      team: change.team,
      then: change.then,
    });
    if (res.ok) {
      // The guard held, so HINCRBY made v exactly one more than it read.
      const written = { value: change.value ?? current, meta: { ...meta, ...stringify(change.meta), v: String(Number(meta.v) + 1) } };
      if (cache) cache.known = written;
      return written;
    }
    // Someone else wrote in between (or the copy was stale): read again and decide again.
  }
  throw new Error(`${hash}/${id}: too much write contention`);
}

function stringify(meta: Record<string, string | number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) out[k] = String(v);
  return out;
}
