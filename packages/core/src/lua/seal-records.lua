-- seal-records.lua (tetherSealRecords, migrateRecordMacs): seal every record from before MACs in
-- one atomic step, each only if it is still what was read (a compare-and-set per record), so two
-- api nodes starting at once, or a write racing the start, never lose or resurrect anything.
--
-- KEYS: [1] user records, [2] API tokens, [3] token index, [4] token MACs.
-- ARGV: [1] users count, [2] tokens count, then (id, old JSON, new JSON) per user and per token,
--   then (token hash, host id, MAC) per binding.
-- Result: {users, tokens, hosts} sealed.
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
