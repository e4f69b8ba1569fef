import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import { AgentCommandFinishedFrameSchema } from "@tether/protocol";
import { COMMAND_CLOCK_SKEW_MS } from "@tether/protocol/src/signing";
import { z } from "zod";
import type { Log } from "./log";

/** The payload of an agent's `command_finished`, kept so a redelivery can be answered again. */
export type FinishedPayload = z.infer<typeof AgentCommandFinishedFrameSchema>["payload"];

/** A signed command's `expires_at`: until then plus the skew, its id must stay remembered. */
const expiresAt = z.number().int().nonnegative().optional();
const EntrySchema = z.discriminatedUnion("state", [
  z.object({ id: z.string(), state: z.literal("running"), expires_at: expiresAt }),
  z.object({
    id: z.string(),
    state: z.literal("finished"),
    finished: AgentCommandFinishedFrameSchema.shape.payload,
    expires_at: expiresAt,
  }),
  /** Its final frame was evicted, but the signed command could still be replayed: answer `replayed`. */
  z.object({ id: z.string(), state: z.literal("seen"), expires_at: z.number().int().nonnegative() }),
]);
export type StateEntry = z.infer<typeof EntrySchema>;
const FileSchema = z.object({ version: z.literal(1), commands: z.array(EntrySchema) });

/** Command ids this agent has started or finished, on disk so restarts remember them. */
export interface StateFile {
  get(commandId: string): StateEntry | undefined;
  /**
   * Recorded (and on disk) BEFORE the process is spawned: a crash right after must not rerun it.
   * `expiresAt` (a signed command's): its id is remembered at least until then plus the skew.
   */
  markRunning(commandId: string, expiresAt?: number): void;
  markFinished(payload: FinishedPayload): void;
  /** Ids a previous process left `running`: it died while they ran. */
  orphans(): string[];
}

/**
 * Opens (or creates) the state file. Bounded: keeps the final frames of the newest `limit` ids,
 * never evicting a running one; an evicted id whose signed command has not expired yet (plus the
 * clock skew) stays as a bare `seen` entry until it has, so a replay can never run it. Every change is written whole to a temp file, fsynced and renamed over the old
 * one, so a crash leaves either the old or the new file, never half of one. Throws if the file
 * cannot be written, because dedup across restarts would silently not work.
 */
export function openStateFile(file: string, limit: number, log: Log, now: () => number = Date.now): StateFile {
  const entries = new Map<string, StateEntry>();
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text !== undefined) {
    try {
      for (const entry of FileSchema.parse(JSON.parse(text)).commands) entries.set(entry.id, entry);
    } catch (err) {
      // A corrupt file must not keep the agent down; keep it aside for a human to look at.
      log.warn("state_file_corrupt", { file, moved_to: `${file}.corrupt`, error: (err as Error).message });
      renameSync(file, `${file}.corrupt`);
    }
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });

  const save = () => {
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify({ version: 1, commands: [...entries.values()] }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  };
  const trySave = () => {
    try {
      save();
    } catch (err) {
      log.error("state_file_write_failed", { file, error: (err as Error).message });
    }
  };
  const stillValid = (expires: number | undefined) => expires !== undefined && expires + COMMAND_CLOCK_SKEW_MS >= now();
  const evict = () => {
    let kept = 0;
    for (const entry of entries.values()) if (entry.state !== "seen") kept += 1;
    for (const [id, entry] of entries) {
      if (entry.state === "seen") {
        if (!stillValid(entry.expires_at)) entries.delete(id);
        continue;
      }
      if (kept <= limit || entry.state !== "finished") continue;
      kept -= 1;
      if (stillValid(entry.expires_at)) entries.set(id, { id, state: "seen", expires_at: entry.expires_at! });
      else entries.delete(id);
    }
  };
  save(); // fail at start, loudly, rather than at the first command

  return {
    get: (id) => entries.get(id),
    markRunning(id, expires) {
      entries.set(id, { id, state: "running", ...(expires !== undefined ? { expires_at: expires } : {}) });
      evict();
      trySave();
    },
    markFinished(payload) {
      const id = payload.command_id;
      // Keep the entry's position (age = when it was first seen), so eviction stays FIFO.
      const expires = entries.get(id)?.expires_at;
      entries.set(id, { id, state: "finished", finished: payload, ...(expires !== undefined ? { expires_at: expires } : {}) });
      evict();
      trySave();
    },
    orphans: () => [...entries.values()].filter((e) => e.state === "running").map((e) => e.id),
  };
}
