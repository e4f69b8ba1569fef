-- event-frame.lua: shared piece (`--!include event-frame.lua`), the browser frame of a logged event.
--
-- Defines: event_frame(sid, epoch, type, payload) -> the frame
-- `{"type":"<type>","id":"<id>","ts":<ms>,"payload":<payload>}` for the stream entry `sid`
-- (`<ms>-<seq>`), its id `<ms, 13 digits>-<seq, 8 digits>-<epoch>`. `payload` is JSON already.
-- Byte for byte formatEventFrame in browser-frame.ts, whose readers (frameId, frameType) rely on
-- the type coming first and the id second.
local function event_frame(sid, epoch, type, payload)
  local dash = string.find(sid, '-', 1, true)
  local ms = string.sub(sid, 1, dash - 1)
  local sq = string.sub(sid, dash + 1)
  local id = string.rep('0', 13 - #ms) .. ms .. '-' .. string.rep('0', 8 - #sq) .. sq .. '-' .. epoch
  return '{"type":"' .. type .. '","id":"' .. id .. '","ts":' .. ms .. ',"payload":' .. payload .. '}'
end
