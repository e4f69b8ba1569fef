import { randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { RoleSchema, TeamsSchema, type Role, type User } from "@tether/protocol";
import type { GlobalKeys } from "./partitions";
import { defineScripts } from "./lua/scripts";
import { userMacFields, type RecordMacs } from "./record-mac";

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>;
/** scrypt cost (N=2^15, r=8, p=1: ~50 ms and 32 MiB per hash on a current core). */
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

/**
 * A user record as stored: everything that grants rights (username, role, teams, password hash)
 * in one JSON value, read through {@link UserStore.verified} and written by {@link UserStore.write}
 * only, with a MAC over those fields and the id (issue 13.3, `record-mac.ts`): a record without a
 * valid one is treated as absent.
 */
const StoredUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: RoleSchema,
  teams: TeamsSchema,
  hash: z.string(),
  salt: z.string(),
  created_at: z.number().optional(),
  /** HMAC over {@link userMacFields} (absent only in records from before issue 13.3). */
  mac: z.string().optional(),
});
export type StoredUser = z.infer<typeof StoredUserSchema>;

/** v1's record (hash keyed by username). */
const LegacyUserSchema = z.object({ id: z.string(), username: z.string(), hash: z.string(), salt: z.string() });

export type UserWriteResult = "ok" | "exists" | "missing" | "last_admin";

/** The public view of a record (CONTRACT §4 `user`). */
export function publicUser(r: Omit<StoredUser, "mac">): User {
  return { id: r.id, username: r.username, role: r.role, teams: r.role === "admin" ? null : r.teams };
}

async function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return scrypt(password, salt, KEYLEN, SCRYPT);
}

/** Users: records by id, a unique username index, scrypt password hashes. */
export class UserStore {
  /** Compared against when the user does not exist, so timing does not reveal usernames. */
  private readonly decoy = { salt: randomBytes(16).toString("base64"), hash: randomBytes(KEYLEN).toString("base64") };

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: GlobalKeys,
    private readonly macs: RecordMacs,
  ) {
    defineScripts(redis, "tetherUserWrite");
  }

  /** The one read path of a user record (null: no such user, or one that does not parse or verify). */
  async readRecord(id: string): Promise<StoredUser | null> {
    const json = await this.redis.hget(this.keys.userRecords, id);
    return json === null ? null : this.verified(json, id);
  }

  /**
   * The record stored under `id` if it parses and its MAC holds for it under this very id; else
   * null, reported (counted, logged once): the caller sees exactly what it would with no record.
   */
  private verified(json: string, id: string): StoredUser | null {
    const r = parseRecord(json);
    if (!r) {
      this.macs.refused("user", id, "missing MAC");
      return null;
    }
    if (r.id !== id) {
      this.macs.refused("user", id, "bound to another id");
      return null;
    }
    if (!this.macs.verify("user", userMacFields(r), r.mac)) {
      this.macs.refused("user", id, r.mac === undefined ? "missing MAC" : "wrong MAC");
      return null;
    }
    return r;
  }

  async get(id: string): Promise<User | null> {
    const r = await this.readRecord(id);
    return r ? publicUser(r) : null;
  }

  async byUsername(username: string): Promise<StoredUser | null> {
    const id = await this.redis.hget(this.keys.usernames, username);
    const r = id === null ? null : await this.readRecord(id);
    if (r && r.username !== username) {
      // The index is not MAC'd: pointing a name at another user's record logs in no one.
      this.macs.refused("user", r.id, "bound to another id");
      return null;
    }
    return r;
  }

  async list(): Promise<User[]> {
    const all = await this.redis.hgetall(this.keys.userRecords);
    return Object.entries(all)
      .map(([id, json]) => this.verified(json, id))
      .filter((r): r is StoredUser => r !== null)
      .map(publicUser)
      .sort((a, b) => a.username.localeCompare(b.username));
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.keys.userRecords);
  }

  /** Create a user; null when the username exists. */
  async create(input: { username: string; password: string; role: Role; teams: string[] | null; now?: number }): Promise<User | null> {
    const salt = randomBytes(16);
    const hash = await hashPassword(input.password, salt);
    const record: StoredUser = {
      id: randomUUID(),
      username: input.username,
      role: input.role,
      teams: input.role === "admin" ? null : normalizeTeams(input.teams),
      hash: hash.toString("base64"),
      salt: salt.toString("base64"),
      ...(input.now !== undefined ? { created_at: input.now } : {}),
    };
    return (await this.write("create", record, null)) === "ok" ? publicUser(record) : null;
  }

  /**
   * Change role, teams or password. Returns the result and the user before and after (to tell
   * whether rights changed). Retries on a concurrent write.
   */
  async update(
    id: string,
    change: { role?: Role; teams?: string[] | null; password?: string },
  ): Promise<{ result: UserWriteResult; before?: User; after?: User }> {
    const secret = change.password === undefined ? null : await this.secretFor(change.password);
    for (let attempt = 0; attempt < 20; attempt++) {
      const json = await this.redis.hget(this.keys.userRecords, id);
      const cur = json === null ? null : this.verified(json, id);
      if (!cur || json === null) return { result: "missing" };
      const role = change.role ?? cur.role;
      const next: StoredUser = {
        ...cur,
        role,
        teams: role === "admin" ? null : normalizeTeams(change.teams !== undefined ? change.teams : cur.teams),
        ...(secret ?? {}),
      };
      const res = await this.write("update", next, json);
      if (res === "conflict") continue;
      return { result: res, before: publicUser(cur), after: publicUser(next) };
    }
    throw new Error(`user ${id}: too much write contention`);
  }

  /** Delete a user (not the last admin). */
  async remove(id: string): Promise<{ result: UserWriteResult; before?: User }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const json = await this.redis.hget(this.keys.userRecords, id);
      const cur = json === null ? null : this.verified(json, id);
      if (!cur || json === null) return { result: "missing" };
      const res = await this.write("delete", cur, json);
      if (res === "conflict") continue;
      return { result: res, before: publicUser(cur) };
    }
    throw new Error(`user ${id}: too much write contention`);
  }

  /** The user if the password matches, else null (same cost either way). */
  async verify(username: string, password: string): Promise<StoredUser | null> {
    const stored = await this.byUsername(username);
    return (await this.checkPassword(stored, password)) ? stored : null;
  }

  /** Does `password` match this record's? A missing record is compared against a decoy. */
  async checkPassword(stored: StoredUser | null, password: string): Promise<boolean> {
    const ref = stored ?? this.decoy;
    const hash = await hashPassword(password, Buffer.from(ref.salt, "base64"));
    return timingSafeEqual(hash, Buffer.from(ref.hash, "base64")) && stored !== null;
  }

  /**
   * Records from before MACs (issue 13.3): each one that parses and has no `mac`, with the JSON it
   * becomes once MAC'd. For the start-up migration ({@link migrateRecordMacs}) only.
   */
  async unsealed(): Promise<Array<{ id: string; json: string; sealed: string }>> {
    const all = await this.redis.hgetall(this.keys.userRecords);
    const out: Array<{ id: string; json: string; sealed: string }> = [];
    for (const [id, json] of Object.entries(all)) {
      const r = parseRecord(json);
      if (r && r.mac === undefined && r.id === id) out.push({ id, json, sealed: this.seal(r) });
    }
    return out;
  }

  /** Does any user record carry a MAC field (valid or not)? Then the store is past the migration. */
  async anySealed(): Promise<boolean> {
    const all = await this.redis.hvals(this.keys.userRecords);
    return all.some((json) => parseRecord(json)?.mac !== undefined);
  }

  /** The stored JSON of a record: its fields and their MAC. */
  private seal(record: StoredUser): string {
    const { mac: _old, ...fields } = record;
    return JSON.stringify({ ...fields, mac: this.macs.mac("user", userMacFields(fields)) });
  }

  /**
   * v1 kept one hash of users keyed by username, roles unknown: each becomes an admin (it had
   * every right before), with its id and password kept, and leaves the old hash. Idempotent;
   * several api nodes starting at once migrate each user once. Returns how many moved.
   *
   * Only while the store predates MACs (`trusted`): afterwards a v1 record can only have been
   * planted (it would otherwise become an admin at the next start), so it is refused and left.
   */
  async migrateLegacy(trusted = true): Promise<number> {
    const legacy = await this.redis.hgetall(this.keys.legacyUsers);
    let moved = 0;
    for (const [username, json] of Object.entries(legacy)) {
      if (!trusted) {
        this.macs.refused("user", `v1:${username}`, "missing MAC");
        continue;
      }
      const old = LegacyUserSchema.safeParse(safeJson(json));
      if (old.success) {
        const record: StoredUser = { ...old.data, username, role: "admin", teams: null };
        if ((await this.write("create", record, null)) === "ok") moved++;
      }
      await this.redis.hdel(this.keys.legacyUsers, username);
    }
    return moved;
  }

  private async secretFor(password: string): Promise<{ hash: string; salt: string }> {
    const salt = randomBytes(16);
    return { hash: (await hashPassword(password, salt)).toString("base64"), salt: salt.toString("base64") };
  }

  /**
   * The one write path of a user record, with its indexes, in one step (lua/user-write.lua): the
   * username index (unique) and the set of admins, so that "the last admin cannot be deleted or
   * demoted" holds under races.
   */
  private async write(
    op: "create" | "update" | "delete",
    record: StoredUser,
    expected: string | null,
  ): Promise<UserWriteResult | "conflict"> {
    return await this.redis.tetherUserWrite(
      3,
      this.keys.userRecords,
      this.keys.usernames,
      this.keys.admins,
      op,
      record.id,
      record.username,
      this.seal(record),
      expected ?? "",
      record.role === "admin" ? "1" : "0",
    );
  }
}

/** One spelling per set of teams (sorted, no repeats), so records compare as they mean. */
function normalizeTeams(teams: readonly string[] | null): string[] | null {
  return teams === null ? null : [...new Set(teams)].sort();
}

function safeJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

function parseRecord(json: string): StoredUser | null {
  const parsed = StoredUserSchema.safeParse(safeJson(json));
  return parsed.success ? parsed.data : null;
}
