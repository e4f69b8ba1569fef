-- append.lua (tetherAppend, EventLog.append): guards, projection ops, then append + publish of an
-- event (and optionally a follow-up), in one atomic step (DESIGN "Event sourcing on Redis").
--
-- KEYS: [1] log, [2] epoch, [3] host-teams, then the guards' and ops' keys (each named once,
--   referred to by index from ARGV).
-- ARGV: [1] channel ('' = no publish), [2] type ('' = no event: guards and ops only),
--   [3] payload JSON, [4] maxlen, [5] epoch candidate, [6] host id, [7] team override ('' = the
--   host's), [8] except ('' = none); then the guard count and per guard (key index, field,
--   expected value, '' = absent); then the op count and per op (command, key index, arg count,
--   args…); then 0, or 1 and the follow-up's type, payload JSON, team and except.
-- Result: {1, frame} (frame '' when no event was given), or {0, failed guard's index, actual
--   value ('' = absent)} having written nothing.
--
-- The event goes to its host's team (CONTRACT §4): ARGV[7] when given, else the host's entry in
-- the host-teams hash as it was BEFORE the ops (a host's removal goes to the team it was in), else
-- the default team. The team is stored with the event (field g, and x for `except`) and leads the
-- published message (envelope.lua), so hubs and readers filter without parsing the JSON. The
-- follow-up (`then`): a host moving team is its host_update to the new team and a host_removed for
-- those who lose sight of it, never one without the other.
--!include envelope.lua
--!include event-frame.lua
local a = 9
local ng = tonumber(ARGV[a]); a = a + 1
for i = 1, ng do
  local k = KEYS[tonumber(ARGV[a])]; local f = ARGV[a + 1]; local e = ARGV[a + 2]; a = a + 3
  local v = redis.call('HGET', k, f)
  if v == false then v = '' end
  if v ~= e then return {0, i, v} end
end
local team = ARGV[7]
if ARGV[2] ~= '' and team == '' then
  team = redis.call('HGET', KEYS[3], ARGV[6])
  if not team then team = '$DEFAULT_TEAM' end
end
local no = tonumber(ARGV[a]); a = a + 1
for i = 1, no do
  local name = ARGV[a]; local k = KEYS[tonumber(ARGV[a + 1])]; local n = tonumber(ARGV[a + 2]); a = a + 3
  local args = {}
  for j = 1, n do args[j] = ARGV[a + j - 1] end
  a = a + n
  redis.call(name, k, unpack(args))
end
if ARGV[2] == '' then return {1, ''} end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[5])
  epoch = ARGV[5]
end
local function emit(type, payload, to, except)
  local sid
  if except ~= '' then
    sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 't', type, 'p', payload, 'g', to, 'x', except)
  else
    sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 't', type, 'p', payload, 'g', to)
  end
  local frame = event_frame(sid, epoch, type, payload)
  if ARGV[1] ~= '' then redis.call('$PUBLISH', ARGV[1], envelope(to, except) .. frame) end
  return frame
end
local frame = emit(ARGV[2], ARGV[3], team, ARGV[8])
if tonumber(ARGV[a]) == 1 then emit(ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]) end
return {1, frame}
