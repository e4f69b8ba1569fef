-- envelope.lua: shared piece (`--!include envelope.lua`), the published message's head.
--
-- Defines: envelope(team, except) -> '<team>[ <except>]\t', the prefix before the frames of a
-- published message. Its reader and TypeScript twin are readEnvelope / formatEnvelope in
-- browser-frame.ts.
local function envelope(team, except)
  if except ~= nil and except ~= '' then return team .. ' ' .. except .. '\t' end
  return team .. '\t'
end
