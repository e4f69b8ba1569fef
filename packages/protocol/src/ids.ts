import { z } from "zod";

/**
 * Ids exactly as Tether issues them. Every id that arrives from outside (a REST path, a query, a
 * browser frame) is checked against its kind's schema before it can reach a Redis key name: an id
 * such as `<uuid>:cmds` would otherwise name another key (`host:<uuid>:cmds`) and fail with
 * WRONGTYPE, or worse, read it. Clients still treat ids as opaque strings (CONTRACT §3).
 */

/** Host ids: `crypto.randomUUID()` (UUID v4, lowercase) from `HostStore.create`. */
export const HostIdSchema = z.uuid({ version: "v4", message: "not a host id" });
export type HostId = z.infer<typeof HostIdSchema>;

/** Command ids: `crypto.randomUUID()` (UUID v4, lowercase) from `newCommand`. */
export const CommandIdSchema = z.uuid({ version: "v4", message: "not a command id" });
export type CommandId = z.infer<typeof CommandIdSchema>;

/**
 * The shape of an external event id (`formatEventId` in packages/core): 13-digit ms, 8-digit
 * sequence, the log's epoch; or `0`, the id of "before the first event"; or, with more than one
 * partition (CONTRACT §7), the same head followed by the partition, an epoch stamp and the
 * per-partition positions (`formatCursorId` in packages/core/src/partition-cursor.ts).
 */
export const EVENT_ID_PATTERN = /^(?:0|\d{13}-\d{8}-[A-Za-z0-9]{1,32}|\d{13}-\d{8}-[0-9a-z]{1,2}\.[0-9a-z]{10}(?:\.[0-9a-z_~]*)*)$/;

/** An event id as the `after` of a resume or `GET /api/events` (a cursor over 256 partitions stays well under 8 KiB). */
export const EventIdParamSchema = z.string().max(8192).regex(EVENT_ID_PATTERN, "not an event id");
