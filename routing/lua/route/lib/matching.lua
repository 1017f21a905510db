-- calls meet agents -----------------------------------------------------------------------

-- The agents who just missed this caller (or whose offer of them a supervisor ended) are not
-- rung again for `cfg.exclude_missed_ms` ms: the next agent is. Each is remembered with the end
-- of their exclusion (c.mx: agent id -> ms), not only the last one, so that two offers ended in
-- one instant do not ring the first agent again at once. Returns the set and its size, or nil.
function F.excluded(c)
  if not c.mx then return nil end
  local set, n = {}, 0
  for id, till in pairs(c.mx) do
    if now < till then set[id] = true; n = n + 1 end
  end
  if n == 0 then return nil end
  return set, n
end

-- The senior-trained agents this caller may not take because they are kept for seniors
-- (routing.senior_reserve): the free ones' index while only `cfg.senior_reserve` or fewer are
-- free, for a caller who is not a senior and has waited less than
-- `cfg.senior_reserve_release_ms` ms; nil when nothing is held back. Eligibility still only
-- grows with the wait, which match() relies on.
function F.reserve_guard(c)
  if cfg.senior_reserve <= 0 or c.sr == 1 or not SKILLS['senior'] then return nil end
  if now - c.e >= cfg.senior_reserve_release_ms then return nil end
  local kept = F.avail('senior')
  if F.free('n', kept) > cfg.senior_reserve then return nil end
  return kept
end

-- Does anyone staffed with skill `s` ("*": anyone) speak dialect `d`?
function F.speakers(s, d)
  local field = s .. '|' .. d
  staffed_counts = staffed_counts or {}
  local n = staffed_counts[field]
  if n == nil then
    n = tonumber(redis.call('HGET', STAFFED, field)) or 0
    staffed_counts[field] = n
  end
  return n > 0
end

-- The agent indexes this caller may take from now, in the order they are tried: the queue's
-- ladder rung by rung (cfg.ladder), each rung's agents in the caller's dialect first, then (unless
-- the rung asks for the dialect and someone staffed with its skill speaks it) the rest.
function F.eligible_sets(c, q)
  local waited = now - c.e
  local d = DIALECTS[c.d] and c.d or nil
  local tries, seen = {}, {}
  local function try(k)
    if not seen[k] then seen[k] = true; tries[#tries + 1] = k end
  end
  for _, rung in ipairs(cfg.ladder[q.name]) do
    if waited < rung.opens_ms then break end  -- rungs open in order
    if d then try(F.avail(rung.skill, d)) end
    if not (d and rung.dialect_only and F.speakers(rung.skill, d)) then try(F.avail(rung.skill)) end
  end
  return tries
end

-- A senior is offered an agent on an open line first (docs/time-to-human.md, "Open lines"):
-- joined to the agent's room they hear a person about a second into the call, where ringing
-- takes three or more. Among eligible free agents with a line: the ladder's order (the first
-- index holding one), then longest idle, then id (the idle indexes' own order).
function F.pick_open(c, q, skip)
  if c.sr ~= 1 then return nil end
  local open = redis.call('ZRANGE', OPEN, '0', '-1')
  if #open == 0 then return nil end
  for _, k in ipairs(F.eligible_sets(c, q)) do
    local best, at = nil, nil
    for _, id in ipairs(open) do
      local idle = not skip[id] and F.free('has', k, id)
      if idle then
        idle = tonumber(idle)
        if at == nil or idle < at or (idle == at and id < best) then best, at = id, idle end
      end
    end
    if best then return best end
  end
  return nil
end

-- The first free agent this caller may take now: the ladder's rungs, then longest idle.
function F.pick_agent(c, q)
  local skip, skipped = F.excluded(c)
  skip = skip or {}
  local open = F.pick_open(c, q, skip)
  if open then return open end
  local guard = F.reserve_guard(c)
  -- at most the excluded agents and `cfg.senior_reserve` reserved ones come before an eligible one
  local last = digits((skipped or 0) + (guard and cfg.senior_reserve or 0))
  for _, k in ipairs(F.eligible_sets(c, q)) do
    for _, id in ipairs(F.free('first', k, last)) do
      if not skip[id] and not (guard and F.free('has', guard, id)) then return id end
    end
  end
  return nil
end

-- When a wrap-up that started at least `cfg.senior_wrap_up_break_ms` ago may be ended for a
-- waiting senior.
function F.breakable_from()
  -- a wrap-up ends `cfg.wrap_up_ms` after it starts
  return digits(now + cfg.wrap_up_ms - cfg.senior_wrap_up_break_ms)
end

function F.wrap_up_breakable()
  if cfg.senior_wrap_up_break_ms <= 0 then return false end
  return redis.call('ZCOUNT', WRAP, '-inf', F.breakable_from()) > 0
end

-- A senior who finds no agent: end the wrap-up of the senior-trained agent longest in it, once
-- it has lasted `cfg.senior_wrap_up_break_ms` ms (routing.senior_wrap_up_break; 0: never). One
-- who asked to go away next is left to finish. Returns whether an agent was freed (pick_agent
-- then decides).
function F.break_wrap_up(c)
  if cfg.senior_wrap_up_break_ms <= 0 or c.sr ~= 1 then return false end
  local ending = redis.call('ZRANGEBYSCORE', WRAP, '-inf', F.breakable_from(), 'LIMIT', '0', '8')
  for _, id in ipairs(ending) do
    local p, st = F.get_profile(id), F.get_state(id)
    if p and st.s == 'wrap_up' and st.nx == '' then
      for _, skill in ipairs(p.skills or {}) do
        if skill == 'senior' then
          st.i = now
          F.move_agent(p, st, 'available')
          return true
        end
      end
    end
  end
  return false
end

function F.assign(sid, c, agent)
  local p, st = F.get_profile(agent), F.get_state(agent)
  F.dequeue(sid, c)
  c.st, c.ag, c.om, c.al = 'offered', agent, now, ''  -- a new offer: no agent's leg placed yet
  c.lk = 0  -- nor claimed (OPS.claim_leg)
  c.ra = nil  -- nor has this agent arrived in the caller's room (OPS.room_event)
  -- through the agent's open line, if connected: the caller joins their room, no leg to place
  c.ol, c.oc, c.oj, c.oa = nil, nil, nil, nil
  if (st.ol or '') ~= '' and redis.call('ZSCORE', OPEN, agent) then
    c.ol, c.oc, c.lk = st.ol, st.oc, 1
  end
  F.put_call(sid, c)
  st.c = sid
  F.move_agent(p, st, 'offered')
  redis.call('ZADD', PULLS, now_str, sid)
  made[#made + 1] = sid
  F.event('offered', sid, c, agent, now - c.e)
  if c.cb == 1 and not F.on_line(c) and not c.cv then
    F.event('callback_placed', sid, c, agent, now - c.e)
  end
end

function F.head(q, b, rank)
  local r = digits(rank)
  local top = redis.call('ZRANGE', F.wait_bucket(q, b), r, r, 'WITHSCORES')
  if top[1] then return {q = q, b = b, r = rank, sid = top[1], e = tonumber(top[2])} end
  return nil
end

-- A caller past their queue's aging bound (q.aging_ms, 0: never) ranks above every priority;
-- among such callers the one waiting longest goes first.
local AGED = math.huge
function F.priority(x)
  if x.q.aging_ms and x.q.aging_ms > 0 and now - x.e >= x.q.aging_ms then return AGED end
  return x.q.priority
end

function F.better(x, y)
  local px, py = F.priority(x), F.priority(y)
  if px ~= py then return px > py end
  if x.e ~= y.e then return x.e < y.e end
  return x.sid < y.sid
end

-- Within one (queue, dialect) bucket eligibility only grows with the wait, so once a caller
-- cannot be served nobody behind them can: the bucket is done. The exceptions are a caller
-- kept from the agent who just missed them, and a younger caller kept from the senior
-- reserve (a senior behind them may take that agent): the caller behind them is tried next.
function F.match()
  -- Every available agent is in the any-skill index: none there, nobody can be assigned
  -- (the usual case when callers queue, so it is worth the early exit), unless a wrap-up may
  -- be ended for a senior (break_wrap_up).
  if redis.call('ZCARD', F.avail('*')) == 0 and not F.wrap_up_breakable() then return end
  local heads = {}
  for _, q in ipairs(F.queues_waiting()) do
    for _, b in ipairs(BUCKETS) do heads[#heads + 1] = F.head(q, b, 0) end
  end
  while #heads > 0 do
    local best = 1
    for i = 2, #heads do if F.better(heads[i], heads[best]) then best = i end end
    local h = heads[best]
    local c = F.get_call(h.sid)
    local agent = c and F.pick_agent(c, h.q)
    if c and not agent and F.break_wrap_up(c) then agent = F.pick_agent(c, h.q) end
    local rank = h.r
    if not c then
      redis.call('ZREM', F.wait_bucket(h.q, h.b), h.sid)
      redis.call('ZREM', F.wait_all(h.q), h.sid)
      redis.call('ZREM', F.wait_sr(h.q), h.sid)
    elseif agent then
      F.assign(h.sid, c, agent)
    elseif F.excluded(c) or F.reserve_guard(c) then
      rank = rank + 1
    else
      rank = -1
    end
    local nxt = rank >= 0 and F.head(h.q, h.b, rank) or nil
    if nxt then heads[best] = nxt else table.remove(heads, best) end
  end
end

function F.end_wrap_ups()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', WRAP, '-inf', now_str)) do
    local p, st = F.get_profile(id), F.get_state(id)
    if p and st.s == 'wrap_up' then
      st.i = st.w
      local to = st.nx ~= '' and st.nx or 'available'
      st.nx = ''
      F.move_agent(p, st, to, st.w)
    else
      redis.call('ZREM', WRAP, id)
    end
  end
end

function F.due_retries()
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', RETRY, '-inf', now_str)) do
    redis.call('ZREM', RETRY, sid)
    local c = F.get_call(sid)
    if c and c.st == 'retry' then
      c.st = 'waiting'
      F.put_call(sid, c)
      F.enqueue(sid, c)
    end
  end
end

function F.prune()
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now_str, 'LIMIT', '0', '20')) do
    local c = F.get_call(sid)
    if c then F.dequeue(sid, c) end
    -- no agent may be left pointing at a call that is gone: release it, count the call
    if c and F.live(c) then F.close_unreported(sid, c) end
    redis.call('HDEL', CALLS, sid)
    redis.call('ZREM', HEARD, sid)
    redis.call('ZREM', EXPIRY, sid)
    redis.call('ZREM', PULLS, sid)
    redis.call('ZREM', RETRY, sid)
  end
end

