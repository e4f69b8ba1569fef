import type { Redis } from "ioredis";
import type { HostStore } from "./hosts";
import type { Keys } from "./keys";
import type { ApiTokenStore } from "./token-store";
import type { UserStore } from "./user-store";

/**
 * Seal every record from before MACs in one atomic step, each only if it is still what was read
 * (a compare-and-set per record), so two api nodes starting at once, or a write racing the start,
 * never lose or resurrect anything. KEYS: user records, API tokens, token index, token MACs.
 * ARGV: users count, tokens count, then (id, old JSON, new JSON) per user and per token, then
 * (token hash, host id, MAC) per binding. Returns {users, tokens, hosts} sealed.
 */
const SEAL_LUA = `
local nu, nt = tonumber(ARGV[1]), tonumber(ARGV[2])
local i, cu, ct, ch = 3, 0, 0, 0
for _ = 1, nu do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]); cu = cu + 1 end
  i = i + 3
end
for _ = 1, nt do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2]); ct = ct + 1 end
  i = i + 3
end
while i <= #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] and redis.call('HEXISTS', KEYS[4], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2]); ch = ch + 1
  end
  i = i + 3
end
return {cu, ct, ch}
`;

type RedisWithSeal = Redis & { tetherSealRecords(numKeys: number, ...args: Array<string | number>): Promise<[number, number, number]> };

/** What {@link migrateRecordMacs} did. */
export interface RecordMigration {
  /** True when the store predated MACs (no record carried one), so its records were sealed. */
  sealed: boolean;
  users: number;
  tokens: number;
  hosts: number;
  /** v1 users moved (only while the store predated MACs). */
  legacyUsers: number;
}

/**
 * At api start (issue 13.3): records written before MACs have none. While the store predates
 * them — not one user, API token or token binding carries a MAC field, valid or not — every
 * record gets its MAC, and v1's users are migrated. Once any record carries one, nothing is sealed
 * again: a record without a MAC can then only have been planted, and stays refused. So an attacker
 * must first delete every genuine record for a restart to seal theirs (design.md, "Records Redis
 * cannot forge"). A changed SESSION_SECRET does not re-seal either: every MAC is then wrong.
 */
export async function migrateRecordMacs(deps: {
  redis: Redis;
  keys: Keys;
  users: UserStore;
  apiTokens: ApiTokenStore;
  hosts: HostStore;
}): Promise<RecordMigration> {
  const { users, apiTokens, hosts, keys } = deps;
  const predates = !(await users.anySealed()) && !(await apiTokens.anySealed()) && !(await hosts.anySealed());
  if (!predates) {
    await users.migrateLegacy(false);
    return { sealed: false, users: 0, tokens: 0, hosts: 0, legacyUsers: 0 };
  }
  const [u, t, h] = await Promise.all([users.unsealed(), apiTokens.unsealed(), hosts.unsealed()]);
  const redis = deps.redis as RedisWithSeal;
  if (typeof redis.tetherSealRecords !== "function") deps.redis.defineCommand("tetherSealRecords", { lua: SEAL_LUA });
  const args: Array<string | number> = [u.length, t.length];
  for (const r of [...u, ...t]) args.push(r.id, r.json, r.sealed);
  for (const b of h) args.push(b.tokenHash, b.hostId, b.mac);
  const [cu, ct, ch] = await redis.tetherSealRecords(4, keys.userRecords, keys.apiTokens, keys.tokens, keys.tokenMacs, ...args);
  // v1's users after the sealing: they are written with their MAC.
  const legacyUsers = await users.migrateLegacy(true);
  return { sealed: true, users: cu, tokens: ct, hosts: ch, legacyUsers };
}
