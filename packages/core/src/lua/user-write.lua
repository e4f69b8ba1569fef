-- user-write.lua (tetherUserWrite, UserStore.write): every write of a user record, with its
-- indexes, in one step: the username index (unique) and the set of admins, so that "the last
-- admin cannot be deleted or demoted" holds under races.
--
-- KEYS: [1] records, [2] usernames, [3] admins.
-- ARGV: [1] op (create|update|delete), [2] id, [3] username, [4] new JSON, [5] expected current
--   JSON (update, delete: a compare-and-set), [6] is-admin after (1|0).
-- Result: ok | exists | missing | conflict | last_admin.
local op, id, username, json, expected, admin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if op == 'create' then
  if redis.call('HEXISTS', KEYS[2], username) == 1 then return 'exists' end
  redis.call('HSET', KEYS[1], id, json)
  redis.call('HSET', KEYS[2], username, id)
  if admin == '1' then redis.call('SADD', KEYS[3], id) end
  return 'ok'
end
local cur = redis.call('HGET', KEYS[1], id)
if not cur then return 'missing' end
if cur ~= expected then return 'conflict' end
local isAdmin = redis.call('SISMEMBER', KEYS[3], id) == 1
if isAdmin and (op == 'delete' or admin == '0') and redis.call('SCARD', KEYS[3]) <= 1 then return 'last_admin' end
if op == 'delete' then
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], username)
  redis.call('SREM', KEYS[3], id)
  return 'ok'
end
redis.call('HSET', KEYS[1], id, json)
if admin == '1' then redis.call('SADD', KEYS[3], id) else redis.call('SREM', KEYS[3], id) end
return 'ok'
