-- read-record.lua (tetherReadRecord, EventLog.readRecord): a projected record and its meta hash,
-- read together, so one consistent state. A script rather than MULTI: it is auto-pipelined with
-- the connection's other calls.
--
-- KEYS: [1] the records hash, [2] the meta hash.
-- ARGV: [1] the record's field in KEYS[1].
-- Result: {record JSON or nil, the meta hash as a flat field/value list}.
return { redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HGETALL', KEYS[2]) }
