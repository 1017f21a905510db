-- Forget calls of a customer who asked to be deleted (routing/governance/privacy.py), unless one is live.
--
-- KEYS[1] the call records        ({p:rt}:calls, sid -> JSON)
-- KEYS[2] their expiry            ({p:rt}:call_expiry)
-- KEYS[3] live calls by last news ({p:rt}:heard)
-- KEYS[4] call-backs to retry     ({p:rt}:callback_retry)
-- KEYS[5] call-backs given up     ({p:rt}:callback_failed)
-- KEYS[6] offers not acted on     ({p:rt}:pulls)
-- ARGV: the call sids to forget
-- Returns the sids still live (waiting, a call-back queued, offered, on a call): then nothing
-- is forgotten, so a caller on the line keeps their place and their call-back; else {}.
local live = {}
for _, sid in ipairs(ARGV) do
  local raw = redis.call('HGET', KEYS[1], sid)
  if raw then
    local st = cjson.decode(raw).st
    if st == 'waiting' or st == 'offered' or st == 'on_call' then live[#live + 1] = sid end
  end
end
if #live > 0 then return live end
for _, sid in ipairs(ARGV) do
  redis.call('HDEL', KEYS[1], sid)
  for i = 2, 6 do redis.call('ZREM', KEYS[i], sid) end
end
return {}
