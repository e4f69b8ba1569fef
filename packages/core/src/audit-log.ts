import type { Redis } from "ioredis";
import type { AuditAction, AuditActor, AuditEntry } from "@tether/protocol";
import type { GlobalKeys } from "./partitions";
import type { Principal } from "./policy";

/** What a writer records; the id and time come from the stream. */
export interface AuditRecord {
  actor: AuditActor;
  action: AuditAction;
  target?: { type: string; id: string; name?: string };
  detail?: Record<string, unknown>;
}

/** Tether itself, as an actor (migrations, bootstrap). */
export const SYSTEM_ACTOR: AuditActor = { type: "system", id: "tether", name: "tether" };

export function actorOf(p: Principal): AuditActor {
  return { type: p.type, id: p.id, name: p.name };
}

/**
 * The audit log (CONTRACT §4): its own stream, append-only through the API, trimmed by age only
 * (`MINID ~` on every append), never by the event log's length.
 */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: GlobalKeys,
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  async append(record: AuditRecord): Promise<string> {
    const minId = `${Math.max(0, this.now() - this.maxAgeMs)}-0`;
    const id = await this.redis.xadd(this.keys.audit, "MINID", "~", minId, "*", "e", JSON.stringify(record));
    return id ?? "";
  }

  /** Up to `limit` entries after `after` (exclusive), oldest first. */
  async read(after: string | undefined, limit: number): Promise<AuditEntry[]> {
    const raw = (await this.redis.xrange(this.keys.audit, after ? `(${after}` : "-", "+", "COUNT", limit)) as Array<[string, string[]]>;
    return raw.map(([id, fields]) => {
      const record = JSON.parse(fields[fields.indexOf("e") + 1] ?? "{}") as AuditRecord;
      return { id, ts: Number(id.slice(0, id.indexOf("-"))), ...record };
    });
  }
}
