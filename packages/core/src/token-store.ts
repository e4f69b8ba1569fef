import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { RoleSchema, type Role } from "@tether/protocol";
import type { GlobalKeys } from "./partitions";
import { apiTokenMacFields, type RecordMacs } from "./record-mac";

/**
 * An API token record as stored: its hash, owner and role (what grants rights) in one JSON
 * value, read through {@link ApiTokenStore.verified} and written in {@link ApiTokenStore.create}
 * only, with a MAC over those fields and the id (issue 13.3): one without a valid MAC is absent.
 */
const StoredApiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner_id: z.string(),
  role: RoleSchema,
  hash: z.string(),
  created_at: z.number(),
  expires_at: z.number().nullable(),
  /** HMAC over {@link apiTokenMacFields} (absent only in records from before issue 13.3). */
  mac: z.string().optional(),
});
export type StoredApiToken = z.infer<typeof StoredApiTokenSchema>;

/** API tokens start `tta_` (agent tokens `tth_`), so a leaked one is recognisable in a scan. */
export const newApiToken = () => `tta_${randomBytes(32).toString("base64url")}`;
/** sha-256 is enough for 256 random bits: there is nothing to brute-force, unlike a password. */
export const hashApiToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** API tokens for automation (CONTRACT §4): shown once, stored hashed. */
export class ApiTokenStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: GlobalKeys,
    private readonly macs: RecordMacs,
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
      .hset(this.keys.apiTokens, record.id, this.seal(record))
      .hset(this.keys.apiTokenIndex, record.hash, record.id)
      .sadd(this.keys.userApiTokens(input.ownerId), record.id)
      .exec();
    return { token, record };
  }

  /** The one read path of a token record (null: none, or one that does not parse or verify). */
  async readRecord(id: string): Promise<StoredApiToken | null> {
    const json = await this.redis.hget(this.keys.apiTokens, id);
    return json === null ? null : this.verified(json, id);
  }

  /** The record stored under `id` if its MAC holds for it under this id; else null, reported. */
  private verified(json: string, id: string): StoredApiToken | null {
    const r = parseRecord(json);
    if (!r) {
      this.macs.refused("api_token", id, "missing MAC");
      return null;
    }
    if (r.id !== id) {
      this.macs.refused("api_token", id, "bound to another id");
      return null;
    }
    if (!this.macs.verify("api_token", apiTokenMacFields(r), r.mac)) {
      this.macs.refused("api_token", id, r.mac === undefined ? "missing MAC" : "wrong MAC");
      return null;
    }
    return r;
  }

  /** The stored JSON of a record: its fields and their MAC. */
  private seal(record: StoredApiToken): string {
    const { mac: _old, ...fields } = record;
    return JSON.stringify({ ...fields, mac: this.macs.mac("api_token", apiTokenMacFields(fields)) });
  }

  /** Records from before MACs, with the JSON each becomes (start-up migration only). */
  async unsealed(): Promise<Array<{ id: string; json: string; sealed: string }>> {
    const all = await this.redis.hgetall(this.keys.apiTokens);
    const out: Array<{ id: string; json: string; sealed: string }> = [];
    for (const [id, json] of Object.entries(all)) {
      const r = parseRecord(json);
      if (r && r.mac === undefined && r.id === id) out.push({ id, json, sealed: this.seal(r) });
    }
    return out;
  }

  /** Does any token record carry a MAC field (valid or not)? */
  async anySealed(): Promise<boolean> {
    const all = await this.redis.hvals(this.keys.apiTokens);
    return all.some((json) => parseRecord(json)?.mac !== undefined);
  }

  /** The record a presented token belongs to (expiry is the caller's to judge), or null. */
  async byToken(token: string): Promise<StoredApiToken | null> {
    const hash = hashApiToken(token);
    const id = await this.redis.hget(this.keys.apiTokenIndex, hash);
    if (id === null) return null;
    const record = await this.readRecord(id);
    if (record && record.hash !== hash) {
      // The index is not MAC'd: pointing one token's hash at another token's record proves nothing.
      this.macs.refused("api_token", id, "bound to another id");
      return null;
    }
    return record;
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

function parseRecord(json: string): StoredApiToken | null {
  try {
    const parsed = StoredApiTokenSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
