import { randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keys } from "@tether/core";
import type { User } from "@tether/protocol";

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>;
/** scrypt cost (N=2^15, r=8, p=1: ~50 ms and 32 MiB per hash on a current core). */
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

const StoredUserSchema = z.object({ id: z.string(), username: z.string(), hash: z.string(), salt: z.string() });

/** Users, with scrypt password hashes. */
export class UserStore {
  /** Compared against when the user does not exist, so timing does not reveal usernames. */
  private readonly decoy = { salt: randomBytes(16).toString("base64"), hash: randomBytes(KEYLEN).toString("base64") };

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async count(): Promise<number> {
    return this.redis.hlen(this.keys.users);
  }

  /** Create a user unless that username exists; returns false when it did. */
  async create(username: string, password: string): Promise<boolean> {
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, KEYLEN, SCRYPT);
    const record = { id: randomUUID(), username, hash: hash.toString("base64"), salt: salt.toString("base64") };
    return (await this.redis.hsetnx(this.keys.users, username, JSON.stringify(record))) === 1;
  }

  /** The user if the password matches, else null. */
  async verify(username: string, password: string): Promise<User | null> {
    const json = await this.redis.hget(this.keys.users, username);
    const stored = json ? StoredUserSchema.parse(JSON.parse(json)) : null;
    const ref = stored ?? this.decoy;
    const hash = await scrypt(password, Buffer.from(ref.salt, "base64"), KEYLEN, SCRYPT);
    const ok = timingSafeEqual(hash, Buffer.from(ref.hash, "base64"));
    return ok && stored ? { id: stored.id, username: stored.username } : null;
  }
}
