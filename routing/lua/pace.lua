-- Take one of the account's calls per second for a call Silverline creates
-- (routing/outbound/pacing.py), or refuse it.
--
-- KEYS[1] when the account's next created call starts without waiting ({p}:cps, ms)
-- ARGV[1] now (ms)
-- ARGV[2] the gap between created calls (ms): 1000 / twilio.calls_per_second
-- ARGV[3] the idle time this kind needs first (ms): 0 for a senior's agent leg, one gap for
--         another caller's, two for a call-back, three for a return visit, so that under load
--         the free seconds go to agent legs first (seniors' first), call-backs next, visits
--         last
-- ARGV[4] (optional) hold every create off for this long (ms) instead: REST is in trouble
-- Returns 1 taken (KEYS[1] moved one gap on), 0 refused (the call would wait in Twilio's
-- queue, or a higher kind may need the second).
local now, gap, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[4] then
  local until_ms = math.max(free, now + tonumber(ARGV[4]))
  redis.call('SET', KEYS[1], until_ms, 'PX', until_ms - now + 2 * gap + 1000)
  return 0
end
if free > now - idle then return 0 end
-- the key outlives its use by a gap: an absent key means the account is idle
redis.call('SET', KEYS[1], math.max(free, now) + gap, 'PX', 2 * gap + 1000)
return 1
