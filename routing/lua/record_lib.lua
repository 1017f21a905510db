-- Statistics recording, run by route.lua for the events of each routing decision and for
-- single events (OPS.record, routing/queues/recorder.py). routing_script.py puts it after the constants
-- cfg (cfg.stats: sl per queue, sl_default, short, bounds, ttl, maxlen) and SK (the
-- statistics keys as string.format patterns: call, iv, day, total, events; made by
-- routing/keys.py's stats_formats, so no key name is spelled here) and before route.lua's body.
--
-- record_event(e) dedupes one event per (call, kind[, agent]), updates the queue's
-- interval, day and all-time aggregates for its class and appends it to the capped stream.
--   e.kind, e.sid (call), e.queue, e.class ("s" senior, "o" other), e.dialect, e.agent,
--   e.wait (ms), e.at (ms), e.interval (YYYYMMDDTHHMM of e.at), e.expire (when that
--   interval's aggregates expire, ms); e.at and e.expire may be given as digits (`digits`)
-- For e.kind 'connected', e.wait is the time to a human instead (from the call's first webhook).
-- Returns 1 recorded, 0 duplicate (nothing changed). An answer (or call-back request) after
-- a counted abandon takes the abandon back from the aggregates it was counted in.

-- A whole number as the digits redis.call would send for it, anything else unchanged (a
-- string of digits stays as it is). redis.call formats each Lua number it is given with
-- "%.17g", which costs glibc several times string.format's "%d": a number passed to many
-- commands, or a constant, is better formatted once.
local function digits(x)
  if type(x) == 'number' and x == math.floor(x) and x > -2^53 and x < 2^53 then
    return string.format('%d', x)
  end
  return x
end

local RECORD_SIMPLE = {
  entered = 'offered', offered = 'offers', missed = 'missed', completed = 'completed',
  callback_requested = 'cb_requested', callback_placed = 'cb_placed',
  callback_failed = 'cb_failed', overflowed = 'overflowed', unreported = 'unreported',
  -- moved by a queue's overflow to another queue: out of the one, into the other
  moved_out = 'moved_out', moved_in = 'moved_in',
  -- calls that never reached a queue (issue 21): every caller counted
  ivr_abandoned = 'ivr_abandoned', after_hours_hangup = 'ah_hangup', after_hours_duty = 'ah_duty',
  booked_callback = 'booked_callback', complaint_recorded = 'complaint_recorded',
}
-- A hang-up outside routing counts only for a call nothing else accounted for.
local RECORD_UNROUTED_END = {ivr_abandoned = true, after_hours_hangup = true}
local RECORD_ACCOUNTED = {'k:entered', 'k:booked_callback', 'k:after_hours_duty',
                          'k:complaint_recorded', 'k:ivr_abandoned', 'k:after_hours_hangup'}
local RECORD_PER_AGENT = {offered = true, missed = true}  -- once per agent, not per call
-- Per-agent and per-dialect figures of an interval (docs/statistics.md, "Agents and dialects"):
-- the field each kind of event adds one to.
local RECORD_AGENT = {offered = 'offered', answered = 'answered', missed = 'missed',
                      completed = 'completed'}
local RECORD_DIALECT = {entered = 'offered', answered = 'answered', connected = 'connected'}

-- Per agent: the events above, seniors answered, talk time and (configured) wrap-up time.
-- Per dialect: offered, answered, answered by an agent who speaks it, connected and time to
-- a human. One hash per interval each, with the interval's retention.
local function record_people(e)
  local kind = e.kind
  if e.agent ~= '' and RECORD_AGENT[kind] then
    local key, a = SK.agent:format(e.interval), e.agent .. ':'
    redis.call('HINCRBY', key, a .. RECORD_AGENT[kind], '1')
    if kind == 'answered' and e.class == 's' then
      redis.call('HINCRBY', key, a .. 'seniors', '1')
    end
    if kind == 'completed' and (e.talk or -1) >= 0 then
      redis.call('HINCRBY', key, a .. 'talk_ms', digits(e.talk))
      redis.call('HINCRBY', key, a .. 'wrap_ms', digits(cfg.wrap_up_ms))
    end
    redis.call('PEXPIREAT', key, e.expire)
  end
  if RECORD_DIALECT[kind] then
    local key, d = SK.dialect:format(e.interval), e.dialect .. ':'
    redis.call('HINCRBY', key, d .. RECORD_DIALECT[kind], '1')
    if kind == 'answered' and e.match == 1 then redis.call('HINCRBY', key, d .. 'matched', '1') end
    if kind == 'connected' then redis.call('HINCRBY', key, d .. 'tth_ms', digits(e.wait)) end
    redis.call('PEXPIREAT', key, e.expire)
  end
end

-- Time an agent spent in a state (ms), counted in the interval the state ended in.
local function record_state_time(agent, state, ms, interval, expire)
  if ms <= 0 or state == 'offline' then return end
  local key = SK.agent:format(interval)
  redis.call('HINCRBY', key, agent .. ':t_' .. state, digits(ms))
  redis.call('PEXPIREAT', key, expire)
end

-- The interval, day and all-time aggregate hashes of queue q for interval iv.
local function stats_keys(q, iv)
  return {SK.iv:format(q, iv), SK.day:format(q, iv:sub(1, 8)), SK.total:format(q)}
end

local function record_bucket(w, bounds)
  bounds = bounds or cfg.stats.bounds
  for i, bound in ipairs(bounds) do
    if w < bound then return i - 1 end
  end
  return #bounds
end

-- field -> delta for an answered or abandoned call of class c in queue q that waited w ms
local function record_outcome_fields(outcome, q, c, w)
  if outcome == 'answered' then
    local f = {[c .. ':answered'] = 1, [c .. ':wait_ms'] = w, [c .. ':h' .. record_bucket(w)] = 1}
    if w <= (cfg.stats.sl[q] or cfg.stats.sl_default) then f[c .. ':answered_sl'] = 1 end
    return f, c .. ':max_wait_ms'
  end
  if w < cfg.stats.short then
    return {[c .. ':short_abandoned'] = 1, [c .. ':ah' .. record_bucket(w)] = 1}, nil
  end
  local f = {[c .. ':abandoned'] = 1, [c .. ':abandon_wait_ms'] = w,
             [c .. ':ah' .. record_bucket(w)] = 1}
  return f, c .. ':max_abandon_ms'
end

local function record_apply(keys, fields, maxfield, w, sign)
  for _, key in ipairs(keys) do
    for f, d in pairs(fields) do
      redis.call('HINCRBY', key, f, digits(sign * d))
    end
    if maxfield and sign > 0 then
      local old = tonumber(redis.call('HGET', key, maxfield) or '-1')
      if w > old then redis.call('HSET', key, maxfield, digits(w)) end
    end
  end
end

local function record_event(e)
  local call, kind, class, wait = SK.call:format(e.sid), e.kind, e.class, e.wait
  local dfield = RECORD_PER_AGENT[kind] and ('k:' .. kind .. ':' .. e.agent) or ('k:' .. kind)
  if redis.call('HEXISTS', call, dfield) == 1 then return 0 end
  if RECORD_UNROUTED_END[kind] then
    for _, f in ipairs(RECORD_ACCOUNTED) do
      if redis.call('HEXISTS', call, f) == 1 then return 0 end
    end
  end

  -- the call's outcome so far (answered, abandoned) matters to these three kinds only
  local outcome = (kind == 'answered' or kind == 'callback_requested' or kind == 'abandoned')
    and redis.call('HGET', call, 'outcome')
  if outcome == 'abandoned' and (kind == 'answered' or kind == 'callback_requested') then
    local q, iv, c, w = unpack(redis.call('HMGET', call, 'ab_queue', 'ab_iv', 'ab_class',
                                          'ab_wait'))
    local prior = stats_keys(q, iv)
    record_apply(prior, record_outcome_fields('abandoned', q, c, tonumber(w)), nil, 0, -1)
    -- A maximum cannot be taken back; with no abandon left it is known to be none.
    for _, key in ipairs(prior) do
      if tonumber(redis.call('HGET', key, c .. ':abandoned') or '0') == 0 then
        redis.call('HDEL', key, c .. ':max_abandon_ms')
      end
    end
    redis.call('HDEL', call, 'outcome')
    outcome = false
  end

  local counts, at = stats_keys(e.queue, e.interval), digits(e.at)
  redis.call('HSET', call, dfield, at)
  redis.call('PEXPIRE', call, digits(cfg.stats.ttl))

  if kind == 'answered' then
    local fields, maxfield = record_outcome_fields('answered', e.queue, class, wait)
    record_apply(counts, fields, maxfield, wait, 1)
    redis.call('HSET', call, 'outcome', 'answered')
  elseif kind == 'connected' then
    -- e.wait is the time to a human: from the call's first webhook to the bridge
    local fields = {[class .. ':connected'] = 1, [class .. ':tth_ms'] = wait,
                    [class .. ':t' .. record_bucket(wait, cfg.stats.tbounds)] = 1}
    record_apply(counts, fields, class .. ':max_tth_ms', wait, 1)
  elseif kind == 'abandoned' then
    -- An answered call, or one waiting for its call-back, did not abandon.
    if not outcome and redis.call('HEXISTS', call, 'k:callback_requested') == 0 then
      local fields, maxfield = record_outcome_fields('abandoned', e.queue, class, wait)
      record_apply(counts, fields, maxfield, wait, 1)
      redis.call('HSET', call, 'outcome', 'abandoned', 'ab_queue', e.queue, 'ab_iv',
                 e.interval, 'ab_class', class, 'ab_wait', digits(wait))
    end
  else
    record_apply(counts, {[class .. ':' .. RECORD_SIMPLE[kind]] = 1}, nil, 0, 1)
  end
  -- interval and day aggregates expire after the retention; the all-time totals never do
  redis.call('PEXPIREAT', counts[1], e.expire)
  redis.call('PEXPIREAT', counts[2], e.expire)

  record_people(e)
  redis.call('XADD', SK.events:format(), 'MAXLEN', '~', digits(cfg.stats.maxlen), '*',
             'kind', kind, 'call', e.sid, 'queue', e.queue, 'class', class,
             'dialect', e.dialect, 'agent', e.agent, 'wait_ms', digits(wait), 'at_ms', at)
  return 1
end
