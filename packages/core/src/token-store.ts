import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { RoleSchema, type Role } from "@tether/protocol";
import type { Keys } from "./keys";

/**
 * An API token record as stored: its hash, owner and role (what grants rights) in one JSON
 * value, read by {@link ApiTokenStore.readRecord} and written in {@link ApiTokenStore.create}
 * only (issue 13.3 adds a MAC there).
 */
const StoredApiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner_id: z.string(),
  role: RoleSchema,
  hash: z.string(),
  created_at: z.number(),
  expires_at: z.number().nullable(),
});
export type StoredApiToken = z.infer<typeof StoredApiTokenSchema>;

/** API tokens start `tta_` (agent tokens `tth_`), so a leaked one is recognisable in a scan. */
export const newApiToken = () => `tta_${randomBytes(32).toString("base64url")}`;
/** sha-256 is enough for 256 random bits: there is nothing to brute-force, unlike a password. */
export const hashApiToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** API tokens for automation (CONTRACT §4): shown once, stored hashed. */
export class ApiTokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async create(input: {
    ownerId: string;
    name: string;
    role: Role;
    expiresAt: number | null;
    now: number;
  }): Promise<{ token: string; record: StoredApiToken }> {
    const token = newApiToken();
    const record: StoredApiToken = {
      id: randomUUID(),
      name: input.name,
      owner_id: input.ownerId,
      role: input.role,
      hash: hashApiToken(token),
      created_at: input.now,
      expires_at: input.expiresAt,
    };
    await this.redis
      .multi()
      .hset(this.keys.apiTokens, record.id, JSON.stringify(record))
      .hset(this.keys.apiTokenIndex, record.hash, record.id)
      .sadd(this.keys.userApiTokens(input.ownerId), record.id)
      .exec();
    return { token, record };
  }

  /** The one read path of a token record. */
  async readRecord(id: string): Promise<StoredApiToken | null> {
    const json = await this.redis.hget(this.keys.apiTokens, id);
    if (json === null) return null;
    const parsed = StoredApiTokenSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  }

  /** The record a presented token belongs to (expiry is the caller's to judge), or null. */
  async byToken(token: string): Promise<StoredApiToken | null> {
    const hash = hashApiToken(token);
    const id = await this.redis.hget(this.keys.apiTokenIndex, hash);
    if (id === null) return null;
    const record = await this.readRecord(id);
    return record && record.hash === hash ? record : null;
  }

  /** Every token, or one owner's. */
  async list(ownerId: string | null): Promise<StoredApiToken[]> {
    const ids =
      ownerId === null ? await this.redis.hkeys(this.keys.apiTokens) : await this.redis.smembers(this.keys.userApiTokens(ownerId));
    const out: StoredApiToken[] = [];
    for (const id of ids) {
      const r = await this.readRecord(id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  /** Revoke one token; false when there was none. */
  async remove(id: string): Promise<boolean> {
    const r = await this.readRecord(id);
    if (!r) return false;
    await this.redis
      .multi()
      .hdel(this.keys.apiTokens, id)
      .hdel(this.keys.apiTokenIndex, r.hash)
      .srem(this.keys.userApiTokens(r.owner_id), id)
      .exec();
    return true;
  }

  /** Revoke every token of a user (it was deleted). */
  async removeAllOf(ownerId: string): Promise<number> {
    const ids = await this.redis.smembers(this.keys.userApiTokens(ownerId));
    for (const id of ids) await this.remove(id);
    await this.redis.del(this.keys.userApiTokens(ownerId));
    return ids.length;
  }
}
