-- Record the reason an agent gave for a call in wrap-up (routing/queues/wrapup.py), once per call
-- and agent, beside the call's own statistics events.
--
-- KEYS[1] the call's statistics hash      ({p:rt}:st:call:<sid>, dedupe field k:wrap_up:<agent>)
-- KEYS[2] the queue's interval wrap-ups   ({p:rt}:st:wu:<queue>:<interval>, "<class>:<code>" -> n)
-- KEYS[3] the day's wrap-ups per agent    ({p:rt}:st:wuday:<YYYYMMDD>, "<agent>:<code>" -> n)
-- KEYS[4] the events stream               ({p:rt}:st:events)
-- KEYS[5] the interval's per-agent figures ({p:rt}:st:agent:<interval>, "<agent>:wu_<code>")
-- ARGV: at (ms), call sid, queue, class ("s" senior, "o" other), agent, code, note,
--       expire-at of the aggregates (ms), the call hash's lifetime (ms), the stream's maxlen
-- Returns 1 recorded, 0 the agent already gave a reason for this call (nothing changed).
local at, sid, queue, class, agent, code, note, expire, ttl, maxlen = unpack(ARGV)
if redis.call('HSETNX', KEYS[1], 'k:wrap_up:' .. agent, at) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HINCRBY', KEYS[2], class .. ':' .. code, 1)
redis.call('PEXPIREAT', KEYS[2], expire)
redis.call('HINCRBY', KEYS[3], agent .. ':' .. code, 1)
redis.call('PEXPIREAT', KEYS[3], expire)
redis.call('HINCRBY', KEYS[5], agent .. ':wu_' .. code, 1)
redis.call('PEXPIREAT', KEYS[5], expire)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, '*', 'kind', 'wrap_up', 'call', sid,
           'queue', queue, 'class', class, 'agent', agent, 'code', code, 'note', note,
           'at_ms', at)
return 1
