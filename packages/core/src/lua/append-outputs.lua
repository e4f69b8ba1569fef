-- append-outputs.lua (tetherAppendOutputs, EventLog.appendOutputs): a run of one agent's output
-- frames, many per call: the hot path.
--
-- KEYS: [1] log, [2] epoch, [3] host-teams, then per command (in the order of ARGV's ids) its
--   meta hash and its output list.
-- ARGV: [1] channel, [2] maxlen, [3] epoch candidate, [4] host id, [5] max_out (bytes),
--   [6] the truncation marker's data JSON, [7] number of commands, then their ids, then per frame
--   the command's index (1-based), seq, stream, data JSON.
-- Result: one letter per frame, in order: s stored, d duplicate, g gap, u unknown command,
--   n not running, T crossed the output bound (the marker stored in its place, with its seq),
--   t dropped (the command's output was cut already).
--
-- For each frame in order: the command must belong to the host, be running and expect exactly
-- this seq; then its chunk is stored and its event logged. All frames stored in the call go out in
-- ONE publish, newline-separated (JSON never holds a raw newline), which hubs split; behind one
-- envelope naming the host's team (CONTRACT §4), read from the host-teams hash and logged with
-- each event (field g).
--
-- The bound (issue 11): a command's stored bytes (its chunks' JSON-encoded data) are counted in
-- its meta (`out_bytes`); the frame that would pass `max_out` is replaced by one `stderr` marker
-- and the meta marked `truncated`, after which every later seq is dropped ('t', not a gap: the
-- agent keeps numbering until it learns of the cut), so the list and the log hold at most
-- `max_out` plus one marker for that command.
--!include envelope.lua
--!include event-frame.lua
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[3])
  epoch = ARGV[3]
end
local host = ARGV[4]
local team = redis.call('HGET', KEYS[3], host)
if not team then team = '$DEFAULT_TEAM' end
local max_out = tonumber(ARGV[5])
local marker = ARGV[6]
-- The commands of the run, each named once (a run is almost always one command): its meta read
-- once, its next_seq bumped once and its chunks appended in one RPUSH at the end.
local nc = tonumber(ARGV[7])
local cmds = {}
for j = 1, nc do
  local meta = KEYS[2 + 2 * j]
  local m = redis.call('HMGET', meta, 'host', 'next_seq', 'status', 'out_bytes', 'truncated')
  cmds[j] = { meta = meta, out = KEYS[3 + 2 * j], cid = ARGV[7 + j], host = m[1], next = tonumber(m[2]) or 0,
    running = m[3] == 'running', bytes = tonumber(m[4]) or 0, added = 0, truncated = m[5] == '1', cut = false,
    chunks = {}, stored = 0 }
end
local results = {}
local frames = {}
local base = 7 + nc
for i = 1, (#ARGV - base) / 4 do
  local a = base + 4 * (i - 1)
  local c = cmds[tonumber(ARGV[a + 1])]
  local seq = ARGV[a + 2]
  local seqn = tonumber(seq)
  local stream = ARGV[a + 3]
  local data = ARGV[a + 4]
  if c.host ~= host then
    results[i] = 'u'
  elseif c.truncated then
    results[i] = c.next > seqn and 'd' or 't'
  elseif c.next ~= seqn then
    results[i] = c.next > seqn and 'd' or 'g'
  elseif not c.running then
    results[i] = 'n'
  else
    if c.bytes + c.added + #data > max_out then
      -- Past the bound: this seq carries the one marker, and nothing after it is stored.
      c.truncated = true
      c.cut = true
      stream = 'stderr'
      data = marker
      results[i] = 'T'
    else
      c.added = c.added + #data
      results[i] = 's'
    end
    -- The command id is one of ours (its meta names this host), the stream one of two words and
    -- the data already JSON: the chunk and the event payload are spliced, not encoded again.
    local tail = '"stream":"' .. stream .. '","data":' .. data .. '}'
    c.next = c.next + 1
    c.stored = c.stored + 1
    c.chunks[c.stored] = '{"seq":' .. seq .. ',' .. tail
    local payload = '{"command_id":"' .. c.cid .. '","host_id":"' .. host .. '","seq":' .. seq .. ',' .. tail
    local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 't', 'command_output', 'p', payload, 'g', team)
    frames[#frames + 1] = event_frame(sid, epoch, 'command_output', payload)
  end
end
for _, c in ipairs(cmds) do
  if c.stored > 0 then
    redis.call('HINCRBY', c.meta, 'next_seq', c.stored)
    if c.added > 0 then redis.call('HINCRBY', c.meta, 'out_bytes', c.added) end
    if c.cut then redis.call('HSET', c.meta, 'truncated', '1') end
    redis.call('RPUSH', c.out, unpack(c.chunks))
  end
end
if #frames > 0 then redis.call('$PUBLISH', ARGV[1], envelope(team, '') .. table.concat(frames, '\n')) end
return table.concat(results)
