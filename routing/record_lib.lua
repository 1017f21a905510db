-- Statistics recording, shared by record.lua (one event per call, from Python) and route.lua
-- (the events of a routing decision, recorded inside the same atomic call). This file only
-- defines functions; each script that includes it is built by concatenating the sources.
--
-- record_event(k, e) dedupes one event per (call, kind[, agent]), updates the queue's
-- interval, day and all-time aggregates for its class and appends it to the capped stream.
--   k.call    the call's stats hash (dedupe fields "k:<kind>[:<agent>]", counted outcome)
--   k.iv, k.day, k.total   the queue's interval, day and all-time aggregate hashes
--   k.events  the audit stream
--   k.prior   function(queue, interval) -> {iv, day, total} of an abandon this event
--             overturns, or nil when the caller must name them (record.lua's second call)
--   e.kind, e.dfield, e.class ("s" senior, "o" other), e.wait (ms), e.sl (service-level
--   threshold ms), e.short (short-abandon threshold ms), e.bounds (histogram upper bounds,
--   ms, ascending), e.at (ms), e.queue, e.interval (YYYYMMDDTHHMM), e.expire (aggregates
--   expire at, ms), e.ttl (call hash time to live, ms), e.maxlen (stream cap), e.entry (the
--   stream entry's field, value pairs)
-- Returns 1 recorded, 0 duplicate (nothing changed), or -1, queue, interval: the event
-- overturns an abandon counted there and k.prior did not name its keys (nothing changed).

local RECORD_SIMPLE = {
  entered = 'offered', offered = 'offers', missed = 'missed', completed = 'completed',
  callback_requested = 'cb_requested', callback_placed = 'cb_placed',
  callback_failed = 'cb_failed',
}

local function record_bucket(bounds, w)
  for i, bound in ipairs(bounds) do
    if w < bound then return i - 1 end
  end
  return #bounds
end

-- field -> delta for an answered or abandoned call of class c that waited w ms
local function record_outcome_fields(e, outcome, c, w)
  if outcome == 'answered' then
    local f = {[c .. ':answered'] = 1, [c .. ':wait_ms'] = w,
               [c .. ':h' .. record_bucket(e.bounds, w)] = 1}
    if w <= e.sl then f[c .. ':answered_sl'] = 1 end
    return f, c .. ':max_wait_ms'
  end
  if w < e.short then
    return {[c .. ':short_abandoned'] = 1, [c .. ':ah' .. record_bucket(e.bounds, w)] = 1}, nil
  end
  local f = {[c .. ':abandoned'] = 1, [c .. ':abandon_wait_ms'] = w,
             [c .. ':ah' .. record_bucket(e.bounds, w)] = 1}
  return f, c .. ':max_abandon_ms'
end

local function record_apply(keys, fields, maxfield, w, sign)
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

local function record_event(k, e)
  local call, kind, class, wait = k.call, e.kind, e.class, e.wait
  if redis.call('HEXISTS', call, e.dfield) == 1 then return 0 end

  local outcome = redis.call('HGET', call, 'outcome')
  local overturns = outcome == 'abandoned'
    and (kind == 'answered' or kind == 'callback_requested')
  if overturns then
    local q, iv, c, w = unpack(redis.call('HMGET', call, 'ab_queue', 'ab_iv', 'ab_class',
                                          'ab_wait'))
    local prior = k.prior(q, iv)
    if not prior then return -1, q, iv end
    local fields = record_outcome_fields(e, 'abandoned', c, tonumber(w))
    record_apply(prior, fields, nil, 0, -1)
    -- A maximum cannot be taken back; with no abandon left it is known to be none.
    for _, key in ipairs(prior) do
      if tonumber(redis.call('HGET', key, c .. ':abandoned') or '0') == 0 then
        redis.call('HDEL', key, c .. ':max_abandon_ms')
      end
    end
    redis.call('HDEL', call, 'outcome')
    outcome = false
  end

  local counts = {k.iv, k.day, k.total}
  redis.call('HSET', call, e.dfield, e.at)
  redis.call('PEXPIRE', call, e.ttl)

  if kind == 'answered' then
    local fields, maxfield = record_outcome_fields(e, 'answered', class, wait)
    record_apply(counts, fields, maxfield, wait, 1)
    redis.call('HSET', call, 'outcome', 'answered')
  elseif kind == 'abandoned' then
    -- An answered call, or one waiting for its call-back, did not abandon.
    if not outcome and redis.call('HEXISTS', call, 'k:callback_requested') == 0 then
      local fields, maxfield = record_outcome_fields(e, 'abandoned', class, wait)
      record_apply(counts, fields, maxfield, wait, 1)
      redis.call('HSET', call, 'outcome', 'abandoned', 'ab_queue', e.queue, 'ab_iv',
                 e.interval, 'ab_class', class, 'ab_wait', wait)
    end
  else
    record_apply(counts, {[class .. ':' .. RECORD_SIMPLE[kind]] = 1}, nil, 0, 1)
  end
  -- interval and day aggregates expire after the retention; the all-time totals never do
  redis.call('PEXPIREAT', k.iv, e.expire)
  redis.call('PEXPIREAT', k.day, e.expire)

  redis.call('XADD', k.events, 'MAXLEN', '~', e.maxlen, '*', unpack(e.entry))
  return 1
end
