import type { Cluster, Redis } from "ioredis";
import type { HostStore } from "./hosts";
import type { GlobalKeys } from "./partitions";
import { defineScripts } from "./lua/scripts";
import type { ApiTokenStore } from "./token-store";
import type { UserStore } from "./user-store";

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
  redis: Redis | Cluster;
  keys: GlobalKeys;
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
  defineScripts(deps.redis, "tetherSealRecords");
  const args: Array<string | number> = [u.length, t.length];
  for (const r of [...u, ...t]) args.push(r.id, r.json, r.sealed);
  for (const b of h) args.push(b.tokenHash, b.hostId, b.mac);
  // One compare-and-set per record, all in one step (lua/seal-records.lua): two api nodes starting
  // at once, or a write racing the start, never lose or resurrect anything.
  const [cu, ct, ch] = await deps.redis.tetherSealRecords(4, keys.userRecords, keys.apiTokens, keys.tokens, keys.tokenMacs, ...args);
  // v1's users after the sealing: they are written with their MAC.
  const legacyUsers = await users.migrateLegacy(true);
  return { sealed: true, users: cu, tokens: ct, hosts: ch, legacyUsers };
}
