-- refresh-session.lua (tetherRefreshSession, SessionWatch.tick): one session's check on a tick.
--
-- KEYS: [1] the session key, [2] its socket set.
-- ARGV: [1] lapse time (ms), [2] key lifetime (ms), [3…] the members held by this hub.
-- Result: 0 if the session is gone (expired or deleted in the store; its members here are
--   dropped), else 1, its members here pushed back to the lapse time.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], unpack(ARGV, 3))
  return 0
end
for i = 3, #ARGV do redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
