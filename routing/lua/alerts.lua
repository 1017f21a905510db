-- Replace the alerts holding now by those the rules found (routing/reporting/alerts.py), atomically, so
-- that several workers evaluating at once post each change once.
-- KEYS[1] the active alerts (hash id -> JSON), KEYS[2] the webhook outbox (zset JSON -> due ms)
-- ARGV[1] now (ms), ARGV[2] JSON {id: alert} of the alerts found, ARGV[3] 1: queue notices
-- Returns {fired ids..., '|', resolved ids...}.
local now, found, notify = tonumber(ARGV[1]), cjson.decode(ARGV[2]), ARGV[3] == '1'
local fired, resolved = {}, {}
local function notice(event, alert)
  if notify then
    redis.call('ZADD', KEYS[2], now, cjson.encode({event = event, alert = alert, attempt = 0,
                                                   at = now}))
  end
end
local held = redis.call('HGETALL', KEYS[1])
local active = {}
for i = 1, #held, 2 do active[held[i]] = held[i + 1] end
for id, alert in pairs(found) do
  if not active[id] then
    redis.call('HSET', KEYS[1], id, cjson.encode(alert))
    fired[#fired + 1] = id
    notice('firing', alert)
  end
end
for id, raw in pairs(active) do
  if found[id] == nil then
    redis.call('HDEL', KEYS[1], id)
    resolved[#resolved + 1] = id
    local alert = cjson.decode(raw)
    alert.resolved_at = now
    notice('resolved', alert)
  end
end
local out = fired
out[#out + 1] = '|'
for _, id in ipairs(resolved) do out[#out + 1] = id end
return out
