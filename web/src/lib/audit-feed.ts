import type { AuditEntry } from "./directory";

/** What the audit page's filter asks for; empty strings match everything. */
export interface AuditFilter {
  /** Part of the actor's name or id, any case. */
  actor: string;
  /** One action (`user.created`), or a family ending with a dot (`user.`). */
  action: string;
}

/**
 * Adds a page of entries (oldest first, as `GET /api/audit` answers) to a list kept newest
 * first, dropping any already there and keeping the newest `max`.
 */
export function mergeNewestFirst(existing: readonly AuditEntry[], page: readonly AuditEntry[], max: number): AuditEntry[] {
  const known = new Set(existing.map((entry) => entry.id));
  const fresh: AuditEntry[] = [];
  for (const entry of page) {
    if (known.has(entry.id)) continue;
    known.add(entry.id);
    fresh.push(entry);
  }
  if (fresh.length === 0) return existing as AuditEntry[];
  return [...fresh.reverse(), ...existing].slice(0, max);
}

/** The entries that match `filter`, in their order. */
export function filterEntries(entries: readonly AuditEntry[], filter: AuditFilter): AuditEntry[] {
  const actor = filter.actor.trim().toLowerCase();
  const action = filter.action;
  return entries.filter(
    (entry) =>
      (actor === "" || entry.actor.name.toLowerCase().includes(actor) || entry.actor.id.toLowerCase() === actor) &&
      (action === "" || (action.endsWith(".") ? entry.action.startsWith(action) : entry.action === action)),
  );
}

/** Distinct actor names seen, sorted, for the filter's suggestions. */
export function actorNames(entries: readonly AuditEntry[]): string[] {
  return [...new Set(entries.map((entry) => entry.actor.name))].sort((a, b) => a.localeCompare(b));
}

/** A target or detail as one short line: a string as is, an object as `key=value` pairs. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "object") return "";
  if (Array.isArray(value)) return value.map(describeValue).join(", ");
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(" ");
}

export interface AuditFeedDeps {
  /** `GET /api/audit?after=&limit=`: entries after `after`, oldest first. */
  fetchPage(after: string | undefined, limit: number): Promise<AuditEntry[]>;
  /** Entries, loading state or error changed. */
  onChange(): void;
  /** Polling period while started (ms; default 5000). */
  intervalMs?: number;
  /** Entries asked for per request (default 500). */
  pageSize?: number;
  /** Newest entries kept (default 5000). */
  maxEntries?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/**
 * The audit log, live: reads every entry once, then polls for entries after the last one
 * every few seconds (and at once on {@link refresh}, which the page calls when the tab regains
 * focus). Polling rather than a socket because the audit log is admin-only REST (CONTRACT §4)
 * and a few seconds' delay is fine for it. One request at a time; a page as long as the limit
 * means there is more, so it asks again straight away.
 */
export class AuditFeed {
  /** Newest first. */
  entries: AuditEntry[] = [];
  loaded = false;
  /** Why the last poll failed, or "" . */
  error = "";
  private lastId: string | undefined;
  private timer: unknown;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly maxEntries: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(private readonly deps: AuditFeedDeps) {
    this.intervalMs = deps.intervalMs ?? 5000;
    this.pageSize = deps.pageSize ?? 500;
    this.maxEntries = deps.maxEntries ?? 5000;
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    this.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Polls now (unless a poll is under way), then resumes the period from here. */
  refresh(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.inFlight ?? this.poll();
  }

  private poll(): Promise<void> {
    this.clearTimer(this.timer);
    this.timer = undefined;
    this.inFlight = (async () => {
      try {
        for (;;) {
          const page = await this.deps.fetchPage(this.lastId, this.pageSize);
          if (!this.running) return;
          this.entries = mergeNewestFirst(this.entries, page, this.maxEntries);
          if (page.length > 0) this.lastId = page[page.length - 1]!.id;
          this.error = "";
          if (page.length < this.pageSize) break;
        }
        this.loaded = true;
      } catch (error) {
        this.error = (error as Error).message;
      } finally {
        this.inFlight = undefined;
        if (this.running) {
          this.timer = this.setTimer(() => void this.poll(), this.intervalMs);
          this.deps.onChange();
        }
      }
    })();
    return this.inFlight;
  }
}
