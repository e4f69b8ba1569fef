-- claim-socket.lua (tetherClaimSocket, SessionWatch.claim): count a new browser socket against
-- its session, atomically across hubs: drop lapsed claims, refuse past the limit, else add this one.
--
-- KEYS: [1] the session's socket set (a sorted set: member → until when its claim holds, ms).
-- ARGV: [1] now (ms), [2] lapse time (ms), [3] member, [4] limit, [5] key lifetime (ms).
-- Result: 1 when claimed, 0 when the session is at its limit.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
