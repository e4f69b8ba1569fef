/**
 * The Lua scripts' commands (lua/scripts.ts defines them on a connection) as ioredis methods, by
 * module augmentation, so callers need no cast. Each signature follows its file's header (KEYS,
 * ARGV, result); scripts without a fixed key count take it first.
 */
import type { ClientContext, Result } from "ioredis";

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext = { type: "default" }> {
    /** append.lua: `[1, frame]` ('' when no event), or `[0, failed guard (1-based), its actual value]`. */
    tetherAppend(numKeys: number, ...keysThenArgs: Array<string | number>): Result<[1, string] | [0, number, string], Context>;
    /** append-outputs.lua: one result letter per frame. */
    tetherAppendOutputs(numKeys: number, ...keysThenArgs: Array<string | number>): Result<string, Context>;
    /** read-record.lua: the record (null: absent) and the meta hash as a flat field/value list. */
    tetherReadRecord(numKeys: 2, records: string, meta: string, id: string): Result<[string | null, string[]], Context>;
    /** seal-records.lua: how many users, tokens and token bindings were sealed. */
    tetherSealRecords(numKeys: 4, ...keysThenArgs: Array<string | number>): Result<[number, number, number], Context>;
    /** user-write.lua. */
    tetherUserWrite(
      numKeys: 3,
      records: string,
      usernames: string,
      admins: string,
      op: "create" | "update" | "delete",
      id: string,
      username: string,
      json: string,
      expected: string,
      admin: "1" | "0",
    ): Result<"ok" | "exists" | "missing" | "conflict" | "last_admin", Context>;
    /** claim-socket.lua: 1 claimed, 0 the session is at its limit. */
    tetherClaimSocket(
      sockets: string,
      now: number,
      until: number,
      member: string,
      limit: number,
      lifetimeMs: number,
    ): Result<0 | 1, Context>;
    /** refresh-session.lua: 0 the session is gone, 1 its members here were pushed back. */
    tetherRefreshSession(session: string, sockets: string, until: number, lifetimeMs: number, ...members: string[]): Result<0 | 1, Context>;
  }
}
