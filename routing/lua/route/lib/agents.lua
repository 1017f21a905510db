-- agents --------------------------------------------------------------------------------

-- Agents' profiles read in this call, decoded once (false: no such agent). Nothing changes a
-- profile table; OPS.save and OPS.remove forget the one they write.
local profiles = {}

function F.get_profile(id)
  local p = profiles[id]
  if p == nil then
    local raw = redis.call('HGET', AGENTS, id)
    p = raw and cjson.decode(raw) or false
    profiles[id] = p
  end
  return p or nil
end

function F.get_state(id)
  local raw = redis.call('HGET', ASTATE, id)
  if raw then return cjson.decode(raw) end
  return {s = 'offline', t = now, c = '', m = 0, i = now, w = 0, nx = ''}
end

function F.speaks(p, dialect)
  for _, d in ipairs(p.dialects or {}) do
    if d == dialect then return true end
  end
  return false
end

function F.index_sets(p)
  local skills, dialects = {'*'}, {}
  for _, s in ipairs(p.skills) do if SKILLS[s] and s ~= '*' then skills[#skills + 1] = s end end
  for _, d in ipairs(p.dialects) do if DIALECTS[d] then dialects[#dialects + 1] = d end end
  return skills, dialects
end

-- What this call has read of the free agents' indexes and of the staffed counts, until it
-- changes them (index_agent, unindex_agent; staff): a settle that finds no agent for a waiting
-- caller looks at the one behind them, who asks the same of the same keys (pick_agent).
local free_read, staffed_counts = nil, nil

-- ZCARD (n), ZRANGE 0..last (first) and ZSCORE (has) of a free agents' index, read once a call.
function F.free(how, k, arg2)
  free_read = free_read or {}
  local memo = k .. ' ' .. how .. ' ' .. (arg2 or '')
  local v = free_read[memo]
  if v == nil then
    if how == 'n' then v = redis.call('ZCARD', k)
    elseif how == 'first' then v = redis.call('ZRANGE', k, '0', arg2)
    else v = redis.call('ZSCORE', k, arg2) end
    free_read[memo] = v
  end
  return v
end

function F.index_agent(p, score)
  local skills, dialects = F.index_sets(p)
  score = digits(score)  -- formatted once for the ~40 ZADDs of an agent with many skills
  free_read = nil
  for _, s in ipairs(skills) do
    redis.call('ZADD', F.avail(s), score, p.id)
    for _, d in ipairs(dialects) do redis.call('ZADD', F.avail(s, d), score, p.id) end
  end
end

function F.unindex_agent(p)
  local skills, dialects = F.index_sets(p)
  free_read = nil
  for _, s in ipairs(skills) do
    redis.call('ZREM', F.avail(s), p.id)
    for _, d in ipairs(dialects) do redis.call('ZREM', F.avail(s, d), p.id) end
  end
end

function F.staff(p, delta)
  local skills, dialects = F.index_sets(p)
  delta = digits(delta)
  staffed_counts = nil
  for _, s in ipairs(skills) do
    redis.call('HINCRBY', STAFFED, s .. '|', delta)
    for _, d in ipairs(dialects) do redis.call('HINCRBY', STAFFED, s .. '|' .. d, delta) end
  end
end

-- Every write of an agent's state goes through here: the simulator's occupancy meter reads
-- the states again only after a call that wrote one (`after.states`, ARGV[6]).
function F.put_state(id, st)
  redis.call('HSET', ASTATE, id, cjson.encode(st))
  STATES_WRITTEN = true
end

-- Move an agent to state `to` at time `at`, keeping the indexes and staffed counts true.
function F.move_agent(p, st, to, at)
  if st.s == 'available' then F.unindex_agent(p) end
  if st.s == 'wrap_up' then redis.call('ZREM', WRAP, p.id) end
  local was, is = STAFFED_STATES[st.s], STAFFED_STATES[to]
  if was and not is then F.staff(p, -1) elseif is and not was then F.staff(p, 1) end
  record_state_time(p.id, st.s, (at or now) - (st.t or now), IV, IV_EXPIRE)
  st.s, st.t = to, at or now
  if to == 'available' then F.index_agent(p, st.i) end
  if to == 'wrap_up' then redis.call('ZADD', WRAP, digits(st.w), p.id) end
  F.put_state(p.id, st)
end

-- The agent's call is over without a conversation: back to where they were going.
function F.release_agent(id, sid, idle_ms)
  local p, st = F.get_profile(id), F.get_state(id)
  if not p or st.c ~= sid then return end
  st.c = ''
  if idle_ms then st.i = idle_ms end
  local to = st.nx ~= '' and st.nx or 'available'
  st.nx = ''
  F.move_agent(p, st, to)
end

