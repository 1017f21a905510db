-- Record one queue event: dedupe, update the aggregates, append to the audit stream.
--
-- KEYS[1]  the call's stats hash (dedupe fields "k:<kind>[:<agent>]" and its counted outcome)
-- KEYS[2]  the queue's interval aggregates hash
-- KEYS[3]  the queue's day aggregates hash
-- KEYS[4]  the queue's all-time totals hash
-- KEYS[5]  the audit stream
-- KEYS[6..8] optional: interval, day and totals hashes of an abandon this event overturns
--          (only when a previous call answered {-1, queue, interval})
-- ARGV[1]  kind (entered, offered, answered, missed, abandoned, completed,
--          callback_requested, callback_placed, callback_failed)
-- ARGV[2]  dedupe field, "k:<kind>" or "k:<kind>:<agent>"
-- ARGV[3]  class: "s" (senior) or "o" (other)
-- ARGV[4]  wait (ms)
-- ARGV[5]  service-level threshold of the queue (ms): answered with wait <= it count in SL
-- ARGV[6]  short-abandon threshold (ms): abandons with wait < it are short
-- ARGV[7]  histogram upper bounds (ms), comma-separated, ascending
-- ARGV[8]  event time (epoch ms)
-- ARGV[9]  queue name
-- ARGV[10] interval id (local YYYYMMDDTHHMM) of this event
-- ARGV[11] aggregates expire at (epoch ms)
-- ARGV[12] call hash time to live (ms)
-- ARGV[13] stream cap (approximate MAXLEN)
-- ARGV[14..] stream entry: field, value pairs
-- Returns {1} recorded, {0} duplicate (nothing changed), or {-1, queue, interval}: this event
-- overturns an abandon counted there; call again with KEYS[6..8] for it.

local call = KEYS[1]
local kind, dfield, class = ARGV[1], ARGV[2], ARGV[3]
local wait = tonumber(ARGV[4])
local sl_ms, short_ms = tonumber(ARGV[5]), tonumber(ARGV[6])

if redis.call('HEXISTS', call, dfield) == 1 then
  return {0}
end

local function bucket(w)
  local i = 0
  for bound in string.gmatch(ARGV[7], '[^,]+') do
    if w < tonumber(bound) then return i end
    i = i + 1
  end
  return i
end

-- field -> delta for an answered or abandoned call of class c that waited w ms
local function outcome_fields(outcome, c, w)
  if outcome == 'answered' then
    local f = {[c .. ':answered'] = 1, [c .. ':wait_ms'] = w, [c .. ':h' .. bucket(w)] = 1}
    if w <= sl_ms then f[c .. ':answered_sl'] = 1 end
    return f, c .. ':max_wait_ms'
  end
  if w < short_ms then
    return {[c .. ':short_abandoned'] = 1, [c .. ':ah' .. bucket(w)] = 1}, nil
  end
  local f = {[c .. ':abandoned'] = 1, [c .. ':abandon_wait_ms'] = w, [c .. ':ah' .. bucket(w)] = 1}
  return f, c .. ':max_abandon_ms'
end

local simple = {
  entered = 'offered', offered = 'offers', missed = 'missed', completed = 'completed',
  callback_requested = 'cb_requested', callback_placed = 'cb_placed',
  callback_failed = 'cb_failed',
}

local function apply(keys, fields, maxfield, w, sign)
  for _, key in ipairs(keys) do
    for f, d in pairs(fields) do
      redis.call('HINCRBY', key, f, sign * d)
    end
    if maxfield and sign > 0 then
      local old = tonumber(redis.call('HGET', key, maxfield) or '-1')
      if w > old then redis.call('HSET', key, maxfield, w) end
    end
  end
end

local outcome = redis.call('HGET', call, 'outcome')
local overturns = outcome == 'abandoned' and (kind == 'answered' or kind == 'callback_requested')
if overturns then
  local q, iv, c, w = unpack(redis.call('HMGET', call, 'ab_queue', 'ab_iv', 'ab_class', 'ab_wait'))
  if #KEYS < 8 then
    return {-1, q, iv}
  end
  local fields = outcome_fields('abandoned', c, tonumber(w))
  apply({KEYS[6], KEYS[7], KEYS[8]}, fields, nil, 0, -1)
  -- A maximum cannot be taken back; with no abandon left it is known to be none.
  for i = 6, 8 do
    if tonumber(redis.call('HGET', KEYS[i], c .. ':abandoned') or '0') == 0 then
      redis.call('HDEL', KEYS[i], c .. ':max_abandon_ms')
    end
  end
  redis.call('HDEL', call, 'outcome')
  outcome = false
end

local counts = {KEYS[2], KEYS[3], KEYS[4]}
redis.call('HSET', call, dfield, ARGV[8])
redis.call('PEXPIRE', call, ARGV[12])

if kind == 'answered' then
  local fields, maxfield = outcome_fields('answered', class, wait)
  apply(counts, fields, maxfield, wait, 1)
  redis.call('HSET', call, 'outcome', 'answered')
elseif kind == 'abandoned' then
  -- An answered call, or one waiting for its call-back, did not abandon.
  if not outcome and redis.call('HEXISTS', call, 'k:callback_requested') == 0 then
    local fields, maxfield = outcome_fields('abandoned', class, wait)
    apply(counts, fields, maxfield, wait, 1)
    redis.call('HSET', call, 'outcome', 'abandoned', 'ab_queue', ARGV[9], 'ab_iv', ARGV[10],
      'ab_class', class, 'ab_wait', wait)
  end
else
  apply(counts, {[class .. ':' .. simple[kind]] = 1}, nil, 0, 1)
end
-- interval and day aggregates expire after the retention; the all-time totals never do
redis.call('PEXPIREAT', KEYS[2], ARGV[11])
redis.call('PEXPIREAT', KEYS[3], ARGV[11])

local entry = {}
for i = 14, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], '*', unpack(entry))
return {1}
