-- Routing: apply one event (arrival, poll, answer, dial result, hang-up, call-back, agent
-- change) and then settle, i.e. assign waiting callers to free agents until no free agent
-- is eligible for any waiting caller; record the statistics of every event on the way
-- (record_event, record_lib.lua). One call is one atomic routing decision.
--
-- route.py puts `lazy`, four constants and record_lib.lua before this file:
-- cfg    the configuration: q = {{n name, p priority, s skill, a aging ms, overflow: ok kind,
--        oa after ms, ol length, oq queue}}, ladder[queue name] = {{t opens at ms waited,
--        s skill or "*", d dialect only}} (`lazy`: made for a queue when a call first reads it),
--        dli dialect -> index, ski skill -> index ("*" the first), buckets a queue's waiting
--        buckets (each dialect, then 'other'), wrap, ttl, cbr, ann, cbo, excl,
--        rca (reconcile after), maxc (max call) (ms); miss, cba (counts);
--        st = what recording needs (sl per queue, sl_default, short, bounds, ttl, maxlen)
-- K      the key names by name, all under the routing hash tag (routing/keys.py makes each;
--        route.py's RoutingScript._keys_by_name says which is which):
--   K.agents          agent profiles hash (id -> JSON {id, name, contact, skills, dialects})
--   K.agent_states    agent states hash (id -> JSON {s state, t since ms, c call, m missed,
--                     i idle ms, w wrap-up end ms, nx state to take after the current call})
--   K.calls           calls hash (sid -> JSON call record, see OPS.arrive)
--   K.call_expiry     call expiry zset (sid -> expiry ms)
--   K.wrap_up         wrap-up zset (agent -> wrap-up end ms)
--   K.open_lines      agents whose open line is connected (agent -> ms it connected); their
--                     state keeps the leg (ol), its room's ConferenceSid (oc) and the leg
--                     placed or being placed (op: a CallSid, or '?' while placing since ot)
--   K.staffed         staffed counts hash ("skill|" and "skill|dialect" -> agents staffed)
--   K.pulls           pulls zset (sid -> ms offered; offers the call flow has not acted on)
--   K.callback_retry  call-back retry zset (sid -> due ms)
--   K.callback_failed call-back failed zset (sid -> ms)
--   K.ewt             moving averages hash ("<queue>:w" answered wait ms, "<queue>:h" handle)
--   K.visiting        return visits that may hold an agent (sids; OPS.visit counts them)
--   K.heard           live calls (waiting, offered, on call) -> ms last heard of or looked
--                     up: what OPS.stale finds calls whose end report may have been lost in
--   K.waiting[queue]  .all and .sr (seniors) waiting zsets, and .by[bucket]: one per dialect
--                     of cfg.dli and .by.other for the rest (sid -> entry ms)
--   K.available[skill] for each skill of cfg.ski ("*" too): .any, and .by[dialect]
--                     (agent -> idle-since ms)
--                     (these two are `lazy`: a queue's or skill's table is made the first
--                     time a call reads it, so no call builds all ~100 names)
--   K.all_waiting, K.senior_waiting  every queue's .all and .sr, in the order of cfg.q
-- SK     the statistics keys as string.format patterns (routing/keys.py), same hash tag
-- FORCED the supervisors' forced state changes (list, newest first), same hash tag
-- KEYS[1] is K.agents: declared so that a Redis Cluster client sends the call to the slot every
--         key above lives on.
-- ARGV[1]  operation: tick, arrive, poll, answered, connected, agent_leg, ring_later,
--          claim_leg, leg_failed,
--          dial_result, hangup, room_event, callback, callback_answered, callback_result,
--          left_queue, agent_state, force_state, save, remove, snapshot, record, stale,
--          reconcile, due, tick_due, queue_full, visit, open_line, open_room, lines
-- ARGV[2]  now (epoch ms)
-- ARGV[3]  the operation's arguments as JSON
-- ARGV[4]  the statistics interval id of now (local YYYYMMDDTHHMM)
-- ARGV[5]  when that interval's aggregates expire (epoch ms)
-- ARGV[6]  optional: '1' adds `after` to the answer (at: the next due time, pulls: offers
--          not yet acted on, settled: whether this call settled, states: whether it wrote an
--          agent's state), for the simulator's ticker and occupancy meter
-- Returns a JSON object: offers = offers to act on, plus the operation's own answer
-- (placement / status / offer / snapshot).

local op, now = ARGV[1], tonumber(ARGV[2])
local now_str = digits(now)  -- numbers go to redis.call as digits (record_lib.lua's `digits`)
local arg = cjson.decode(ARGV[3])
local IV, IV_EXPIRE = ARGV[4], digits(tonumber(ARGV[5]))
local AGENTS, ASTATE, CALLS, EXPIRY, WRAP = K.agents, K.agent_states, K.calls, K.call_expiry,
  K.wrap_up
local STAFFED, PULLS, RETRY, FAILED, EWT = K.staffed, K.pulls, K.callback_retry,
  K.callback_failed, K.ewt
local HEARD, VISITING, OPEN = K.heard, K.visiting, K.open_lines

local Q, DL, SK = {}, cfg.dli, cfg.ski  -- queues by name; dialects', skills' indexes
for _, q in ipairs(cfg.q) do Q[q.n] = q end
local BUCKETS = cfg.buckets             -- a queue's waiting buckets: each dialect, then other
local STAFFED_STATES = {available = true, offered = true, on_call = true, wrap_up = true}
local MISSED = {busy = true, ['no-answer'] = true, failed = true, canceled = true}
-- A call-back that did not reach the senior: the statuses above, or a machine that answered.
local UNREACHED = {busy = true, ['no-answer'] = true, failed = true, canceled = true,
                   machine = true}
local FINAL = {completed = true, busy = true, ['no-answer'] = true, failed = true,
               canceled = true}

local made = {}
local SETTLED = false  -- this call has settled (what a tick at this instant would do is done)
local STATES_WRITTEN = false  -- this call wrote an agent's state (F.put_state)

-- Redis 6.2 runs this whole file at every call: every function below is made anew each time
-- (a closure), and making one costs Lua 5.1 a walk of the list of open upvalues for each local
-- of this chunk it uses (luaF_findupval). So the functions are fields of F and OPS, not local
-- functions (~70 of them, which every later one would find that way), and they are made inside
-- define(), whose upvalues the locals above are: a closure made there copies them instead.
-- Together ~40 µs a call (BENCHMARKS.md, section 6). route.py makes F and OPS with a slot for
-- each function (RoutingScript._source), so that filling them does not grow them.
local F, OPS = {}, {}

local function define()  -- up to the dispatch at the end of this file; unindented

function F.wait_all(q) return K.waiting[q.n].all end
function F.wait_sr(q) return K.waiting[q.n].sr end
-- The queues someone waits in, in config order: a settle looks at no other (an empty zset does
-- not exist, so one EXISTS answers "nobody waits", the usual case while agents are free).
function F.queues_waiting()
  local out = {}
  local n = redis.call('EXISTS', unpack(K.all_waiting))  -- how many queues someone waits in
  if n == 0 then return out end
  for i, q in ipairs(cfg.q) do
    if redis.call('EXISTS', K.all_waiting[i]) == 1 then
      out[#out + 1] = q
      if #out == n then break end
    end
  end
  return out
end
function F.bucket_of(d) if DL[d] then return d end return 'other' end
function F.wait_bucket(q, b) return K.waiting[q.n].by[b] end
function F.avail(s, d)
  if d then return K.available[s].by[d] end
  return K.available[s].any
end

-- calls ---------------------------------------------------------------------------------

function F.get_call(sid)
  local raw = redis.call('HGET', CALLS, sid)
  if raw then return cjson.decode(raw) end
  return nil
end

-- A call-back entry whose senior answered our call and is on that leg now (c.lg, its sid).
function F.on_line(c) return c.lg ~= nil and c.lg ~= '' end

-- A call that a report could still end: a caller on the line (a call-back entry waits with
-- nobody on it, and reports nothing) or one holding an agent.
function F.live(c)
  return (c.st == 'waiting' and c.cb ~= 1) or c.st == 'offered' or c.st == 'on_call'
end

-- Every change of a call is made because something was heard of it (a webhook) or done to it
-- (an offer): `lr` keeps when, and HEARD lists the live calls by it for OPS.stale.
function F.put_call(sid, c)
  c.lr = now
  redis.call('HSET', CALLS, sid, cjson.encode(c))
  redis.call('ZADD', EXPIRY, digits(now + cfg.ttl), sid)
  if F.live(c) then redis.call('ZADD', HEARD, now_str, sid) else redis.call('ZREM', HEARD, sid) end
end

-- Record one event of call `sid` at `now` (record_lib.lua); 1 recorded, 0 a repeat.
-- `extra`: fields of the per-agent and per-dialect figures (record_people): talk, match.
function F.event(kind, sid, c, agent, wait_ms, extra)
  -- a return visit's events are counted apart from the inbound queues' (route.py VISIT_QUEUE)
  local e = {kind = kind, sid = sid, queue = c.cv and cfg.vq or c.q,
             class = c.sr == 1 and 's' or 'o', dialect = c.d, agent = agent or '',
             wait = wait_ms or 0, at = now, interval = IV, expire = IV_EXPIRE}
  for k, v in pairs(extra or {}) do e[k] = v end
  return record_event(e)
end

function F.enqueue(sid, c)
  local q, e = Q[c.q], digits(c.e)
  redis.call('ZADD', F.wait_all(q), e, sid)
  redis.call('ZADD', F.wait_bucket(q, F.bucket_of(c.d)), e, sid)
  if c.sr == 1 then redis.call('ZADD', F.wait_sr(q), e, sid) end
end

function F.dequeue(sid, c)
  local q = Q[c.q]
  if not q then return end
  redis.call('ZREM', F.wait_all(q), sid)
  redis.call('ZREM', F.wait_bucket(q, F.bucket_of(c.d)), sid)
  redis.call('ZREM', F.wait_sr(q), sid)
end

function F.ewma(field, x)
  -- Asterisk's running average: (3 * old + new) / 4
  local old = tonumber(redis.call('HGET', EWT, field))
  local v = old and math.floor((3 * old + x) / 4) or x
  redis.call('HSET', EWT, field, digits(v))
end

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
  for _, s in ipairs(p.skills) do if SK[s] and s ~= '*' then skills[#skills + 1] = s end end
  for _, d in ipairs(p.dialects) do if DL[d] then dialects[#dialects + 1] = d end end
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

-- calls meet agents -----------------------------------------------------------------------

-- The agents who just missed this caller (or whose offer of them a supervisor ended) are not
-- rung again for `excl` ms: the next agent is. Each is remembered with the end of their
-- exclusion (c.mx: agent id -> ms), not only the last one, so that two offers ended in one
-- instant do not ring the first agent again at once. Returns the set and its size, or nil.
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
-- (routing.senior_reserve): the free ones' index while only `rsv` or fewer are free, for a
-- caller who is not a senior and has waited less than `rsr` ms; nil when nothing is held back.
-- Eligibility still only grows with the wait, which match() relies on.
function F.reserve_guard(c)
  if cfg.rsv <= 0 or c.sr == 1 or not SK['senior'] or now - c.e >= cfg.rsr then return nil end
  local kept = F.avail('senior')
  if F.free('n', kept) > cfg.rsv then return nil end
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
  local d = DL[c.d] and c.d or nil
  local tries, seen = {}, {}
  local function try(k)
    if not seen[k] then seen[k] = true; tries[#tries + 1] = k end
  end
  for _, rung in ipairs(cfg.ladder[q.n]) do
    if waited < rung.t then break end  -- rungs open in order
    if d then try(F.avail(rung.s, d)) end
    if not (d and rung.d and F.speakers(rung.s, d)) then try(F.avail(rung.s)) end
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
  -- at most the excluded agents and `rsv` reserved ones come before an eligible one
  local last = digits((skipped or 0) + (guard and cfg.rsv or 0))
  for _, k in ipairs(F.eligible_sets(c, q)) do
    for _, id in ipairs(F.free('first', k, last)) do
      if not skip[id] and not (guard and F.free('has', guard, id)) then return id end
    end
  end
  return nil
end

-- When a wrap-up that started at least `swb` ago may be ended for a waiting senior.
function F.breakable_from()
  return digits(now + cfg.wrap - cfg.swb)  -- a wrap-up ends `wrap` after it starts
end

function F.wrap_up_breakable()
  if cfg.swb <= 0 then return false end
  return redis.call('ZCOUNT', WRAP, '-inf', F.breakable_from()) > 0
end

-- A senior who finds no agent: end the wrap-up of the senior-trained agent longest in it, once
-- it has lasted `swb` ms (routing.senior_wrap_up_break; 0: never). One who asked to go away
-- next is left to finish. Returns whether an agent was freed (pick_agent then decides).
function F.break_wrap_up(c)
  if cfg.swb <= 0 or c.sr ~= 1 then return false end
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

-- A caller past their queue's aging bound (cfg q.a ms, 0: never) ranks above every priority;
-- among such callers the one waiting longest goes first.
local AGED = math.huge
function F.priority(x)
  if x.q.a and x.q.a > 0 and now - x.e >= x.q.a then return AGED end
  return x.q.p
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

-- overflow ------------------------------------------------------------------------------
-- A queue's overflow (cfg q.ok, docs/routing.md "Overflow"): 'queue' moves the caller to
-- queue q.oq keeping their entry time (one hop: settings refuse a target that overflows to a
-- queue); 'line' takes them out of routing as 'overflowed' (the call flow dials the line);
-- 'callback' is an offer made at the wait URL (OPS.poll), so nothing moves here. A caller
-- who asked for a call-back and hung up is not on the phone, so never sent to a line.

function F.move_to(sid, c, to)
  F.dequeue(sid, c)
  F.event('moved_out', sid, c, '', now - c.e)
  c.q = to
  F.put_call(sid, c)
  F.enqueue(sid, c)
  F.event('moved_in', sid, c, '', now - c.e)
end

function F.overflow(sid, c, q)
  if q.ok == 'queue' then
    F.move_to(sid, c, q.oq)
    return true
  end
  if q.ok == 'line' and c.cb ~= 1 then
    F.dequeue(sid, c)
    c.st, c.ag = 'overflowed', ''
    F.put_call(sid, c)
    F.event('overflowed', sid, c, '', now - c.e)
    return true
  end
  return false
end

function F.moves(q) return q.oa > 0 and (q.ok == 'queue' or q.ok == 'line') end

-- Callers past their queue's overflow_after leave it (a few per call: the next event or tick
-- takes the rest, and the oldest go first).
function F.overflow_due()
  local moved = false
  for _, q in ipairs(cfg.q) do
    if F.moves(q) then
      local past = redis.call('ZRANGEBYSCORE', F.wait_all(q), '-inf', now - q.oa, 'LIMIT', 0, 20)
      for _, sid in ipairs(past) do
        local c = F.get_call(sid)
        if c and c.st == 'waiting' and F.overflow(sid, c, q) then moved = true end
      end
    end
  end
  if moved then F.match() end  -- the queue they moved to may have an agent free
end

-- The next time a waiting caller passes an overflow bound (nil: none). Callers past it and
-- still here are call-backs a line cannot take: the first caller not yet past it is next.
function F.overflow_at()
  local at = nil
  for _, q in ipairs(cfg.q) do
    if F.moves(q) then
      local top = redis.call('ZRANGEBYSCORE', F.wait_all(q), '(' .. (now - q.oa), '+inf',
        'WITHSCORES', 'LIMIT', 0, 1)
      local t = top[2] and tonumber(top[2]) + q.oa
      if t and (at == nil or t < at) then at = t end
    end
  end
  return at
end

-- A new arrival who finds more than overflow_length callers waiting overflows at once; with a
-- call-back overflow they are offered it at their first announcement (c.lo).
function F.overflow_on_arrival(sid)
  local any = false  -- no queue overflows on arrival (the usual case): the call is not read
  for _, q in ipairs(cfg.q) do any = any or (q.ol > 0 and q.ok ~= '') end
  if not any then return end
  local c = F.get_call(sid)
  local q = c and Q[c.q]
  if not q or c.st ~= 'waiting' or q.ol <= 0 or q.ok == '' then return end
  if redis.call('ZCARD', F.wait_all(q)) <= q.ol then return end
  if q.ok == 'callback' then
    c.lo = 1
    F.put_call(sid, c)
  elseif F.overflow(sid, c, q) then
    F.match()
  end
end

function F.settle()
  F.prune()
  F.end_wrap_ups()
  F.due_retries()
  F.match()
  F.overflow_due()
  SETTLED = true
end

-- answers -------------------------------------------------------------------------------

function F.offer_of(sid, c)
  c = c or F.get_call(sid)
  if not c or (c.st ~= 'offered' and c.st ~= 'on_call') then return nil end
  local p = F.get_profile(c.ag)
  if not p then return nil end
  return {sid = sid, call = c, agent = p}
end

function F.position(sid, c)
  local q = Q[c.q]
  local rank = redis.call('ZRANK', F.wait_all(q), sid)
  if not rank then return 0 end
  for _, o in ipairs(cfg.q) do
    if o.p > q.p then rank = rank + redis.call('ZCARD', F.wait_all(o)) end
  end
  return rank + 1
end

function F.wait_figures(sid, c)
  local q = Q[c.q]
  local base = q.s ~= '' and q.s or '*'
  return {pos = F.position(sid, c), waited = now - c.e,
          staffed = tonumber(redis.call('HGET', STAFFED, base .. '|')) or 0,
          h = tonumber(redis.call('HGET', EWT, q.n .. ':h')) or 0,
          w = tonumber(redis.call('HGET', EWT, q.n .. ':w')) or 0}
end

function F.placement(sid)
  local c = F.get_call(sid)
  if not c then return {kind = 'none'} end
  local o = F.offer_of(sid, c)
  if o then return {kind = 'offer', offer = o} end
  if c.st == 'waiting' or c.st == 'retry' then
    local f = F.wait_figures(sid, c)
    f.kind, f.q = 'queued', c.q
    return f
  end
  return {kind = 'none', q = c.q}
end

-- Offers made earlier (by any call) that the call flow has not acted on; `own` is excluded.
function F.drain(own)
  local out = {}
  for _, sid in ipairs(redis.call('ZRANGE', PULLS, '0', '-1')) do
    local o = sid ~= own and F.offer_of(sid) or nil
    if o and o.call.st == 'offered' then out[#out + 1] = o end
  end
  redis.call('DEL', PULLS)
  return out
end

-- operations ------------------------------------------------------------------------------

-- The agent's conversation on `sid` is over: wrap-up, then the next caller.
function F.wrap_up(sid, c)
  local p, st = F.get_profile(c.ag), F.get_state(c.ag)
  if p and st.c == sid then
    st.c, st.w = '', now + cfg.wrap
    st.i = st.w
    F.move_agent(p, st, 'wrap_up')
  end
end

-- The conversation is over: counted completed (once), the agent to wrap-up. `talk_ms` nil:
-- the talk time is unknown (a supervisor closed a call whose end was never reported) and
-- stays out of the handle-time average, where hours of a lost call would swell every estimate.
function F.finish(sid, c, talk_ms)
  c.st = 'done'
  F.put_call(sid, c)
  F.wrap_up(sid, c)
  F.event('completed', sid, c, c.ag, (c.am > 0 and c.am or now) - c.e, {talk = talk_ms or -1})
  if talk_ms then F.ewma(c.q .. ':h', talk_ms + cfg.wrap) end
end

function F.mark_answered(sid, c)
  c.st, c.am = 'on_call', now
  F.put_call(sid, c)
  local p, st = F.get_profile(c.ag), F.get_state(c.ag)
  if p and st.c == sid then
    st.m = 0
    F.move_agent(p, st, 'on_call')
  end
  redis.call('ZREM', PULLS, sid)
  F.event('answered', sid, c, c.ag, now - c.e, {match = p and F.speaks(p, c.d) and 1 or 0})
  F.ewma(c.q .. ':w', now - c.e)
end

-- The agent's leg ended unanswered: the caller waits again, keeping their place. `counts`
-- false: not the agent's doing (a leg canceled through REST), so no miss is held against them.
function F.miss(sid, c, counts)
  local p, st = F.get_profile(c.ag), F.get_state(c.ag)
  if p and st.c == sid then
    st.c, st.i = '', now
    if counts then st.m = st.m + 1 end
    local to = st.nx ~= '' and st.nx or 'available'
    if st.m >= cfg.miss and to == 'available' then to = 'away' end
    st.nx = ''
    F.move_agent(p, st, to)
  end
  if counts then F.event('missed', sid, c, c.ag, now - c.e) end
  F.requeue(sid, c)
end

-- An offer ended with no conversation: the caller waits again under their entry time, and
-- the agent offered is excluded from them for `excl` ms (F.excluded). The room flag goes with
-- the offer: the next agent's arrival must be heard of before the caller counts as connected.
function F.requeue(sid, c)
  local mx = {}
  for id, till in pairs(c.mx or {}) do
    if now < till then mx[id] = till end
  end
  if c.ag ~= '' then mx[c.ag] = now + cfg.excl end
  c.mx = next(mx) and mx or nil
  c.st, c.ag, c.ra = 'waiting', '', nil
  F.put_call(sid, c)
  F.enqueue(sid, c)
end

-- An offered caller hung up before the agent answered: the agent is free again, no miss.
function F.caller_gone(sid, c)
  c.st = 'gone'
  F.put_call(sid, c)
  F.release_agent(c.ag, sid, nil)
  redis.call('ZREM', PULLS, sid)
  F.event('abandoned', sid, c, '', now - c.e)
end

-- A live call nothing has been heard of for cfg.maxc ms, and Twilio cannot say how it ended:
-- out of the queue, its agent released (wrap-up after a conversation), counted as
-- "unreported" (neither answered nor abandoned: nobody knows which).
function F.close_unreported(sid, c)
  if c.st == 'waiting' then
    F.dequeue(sid, c)
  elseif c.st == 'offered' then
    F.release_agent(c.ag, sid, nil)
    redis.call('ZREM', PULLS, sid)
  elseif c.st == 'on_call' then
    F.wrap_up(sid, c)
  end
  c.st = 'unreported'
  F.put_call(sid, c)
  F.event('unreported', sid, c, c.ag, now - c.e)
end

-- One statistics event from outside a routing decision (routing/recorder.py), at `now`.
function OPS.record()
  return {recorded = F.event(arg.kind, arg.sid, {q = arg.q, sr = arg.sr, d = arg.d}, arg.ag, arg.w)}
end

function OPS.tick()
  F.settle()
  return {offers = F.drain(nil)}
end

-- When the caller at the head of a waiting bucket may take more agents than now: their
-- queue's next rung (eligible_sets), the senior reserve's release (pick_agent). Within a
-- bucket eligibility only grows with the wait, so the head's times come first; a head kept
-- from an agent who missed them lets the caller behind be tried: then it is now.
function F.widens_at(q, b)
  local top = redis.call('ZRANGE', F.wait_bucket(q, b), 0, 0)
  local c = top[1] and F.get_call(top[1])
  if not c then return nil end
  if F.excluded(c) then return now end
  -- the next rung to open (they open in order), or the reserve's release if sooner
  local at = nil
  for _, rung in ipairs(cfg.ladder[q.n]) do
    if c.e + rung.t > now then at = c.e + rung.t; break end
  end
  local release = cfg.rsv > 0 and c.sr ~= 1 and c.e + cfg.rsr
  if release and release > now and (at == nil or release < at) then at = release end
  return at
end

-- The earliest time (ms) a tick could do anything without a new event (the simulator's
-- ticker sleeps until then): now while offers wait to be acted on; a waiting caller's next
-- widening while agents are free (widens_at); the first wrap-up end, call-back retry, call
-- expiry or call going stale; nil when nothing is due at all.
function F.due_at()
  if redis.call('ZCARD', PULLS) > 0 then return now end
  local at = nil
  if redis.call('ZCARD', F.avail('*')) > 0 then
    for _, q in ipairs(F.queues_waiting()) do
      for _, b in ipairs(BUCKETS) do
        local t = F.widens_at(q, b)
        if t and (at == nil or t < at) then at = t end
      end
    end
  end
  -- a waiting senior may end a wrap-up `swb` after it started (break_wrap_up)
  local seniors = cfg.swb > 0 and redis.call('EXISTS', unpack(K.senior_waiting)) > 0
  local wrap_break = seniors and cfg.swb - cfg.wrap or 0
  local spill = F.overflow_at()
  if spill and (at == nil or spill < at) then at = spill end
  for key, later in pairs({[WRAP] = wrap_break, [RETRY] = 0, [EXPIRY] = 0, [HEARD] = cfg.rca}) do
    local top = redis.call('ZRANGE', key, '0', '0', 'WITHSCORES')
    if top[2] and (at == nil or tonumber(top[2]) + later < at) then
      at = tonumber(top[2]) + later
    end
  end
  return at
end

function OPS.due() return {at = F.due_at()} end

-- A tick that also says when the next one has anything to do (OPS.due).
function OPS.tick_due()
  F.settle()
  return {offers = F.drain(nil), at = F.due_at()}
end

-- Claim the placing of the agent's leg for the offer on `sid` (OPS.claim_leg): ok 1 if this
-- claimant has it; else `room` records that the caller is put in their room anyway.
function F.claim_leg(sid, c, room)
  local ok = (c.lk or 0) == 0 and (c.al or '') == ''
  if ok then c.lk = 1 elseif room then c.rm = 1 end
  F.put_call(sid, c)
  return {ok = ok and 1 or 0, rm = c.rm == 1 and 1 or 0}
end

function OPS.arrive()
  local sid = arg.sid
  if not F.get_call(sid) then
    if not Q[arg.q] then return {err = 'unknown queue ' .. arg.q} end
    local c = {q = arg.q, sr = arg.sr, nm = arg.nm, num = arg.num, age = arg.age, d = arg.d,
               e = math.min(tonumber(arg.e) or now, now), st = 'waiting', ag = '', cb = 0,
               at = 0, qs = '', an = 0, om = 0, am = 0, lg = '',
               t0 = math.min(tonumber(arg.t0) or now, now)}
    F.put_call(sid, c)
    F.enqueue(sid, c)
    F.event('entered', sid, c, '', 0)
    F.settle()
    F.overflow_on_arrival(sid)
  else
    F.settle()
  end
  redis.call('ZREM', PULLS, sid)
  local out = {placement = F.placement(sid)}
  -- arg.claim: the webhook rings the agent it is given through REST, claiming the leg here
  -- rather than in a routing call of its own (Router.arrive)
  if arg.claim == 1 and out.placement.kind == 'offer' then
    out.claim = F.claim_leg(sid, F.get_call(sid), false)
  end
  return out
end

-- A call-back overflow (cfg q.ok 'callback'): offered once the caller has waited
-- overflow_after, or from the start when they found the queue longer than overflow_length.
function F.offers_callback(c)
  local q = Q[c.q]
  if q.ok ~= 'callback' then return false end
  return c.lo == 1 or (q.oa > 0 and now - c.e >= q.oa)
end

function OPS.poll()
  local sid = arg.sid
  F.settle()
  local out = {offers = F.drain(sid)}
  local c = F.get_call(sid)
  if not c then return out end
  if arg.qs ~= '' then c.qs = arg.qs end
  out.st = c.st
  out.offer = F.offer_of(sid, c)
  out.first = c.an == 0  -- nothing said to this caller in the queue yet
  if c.st == 'waiting' then
    out.fig = F.wait_figures(sid, c)
    out.announce = c.an == 0 or now - c.an >= cfg.ann
    if out.announce then c.an = now end
    -- offered at the announcement's pace, so a senior is not asked every few seconds
    out.cb_offer = out.announce and c.cb == 0 and (
      (c.sr == 1 and now - c.e >= cfg.cbo) or F.offers_callback(c))
  end
  F.put_call(sid, c)
  out.call = c  -- the record as saved: the wait URL's answer needs no lookup of its own
  return out
end

function OPS.answered()
  local c = F.get_call(arg.sid)
  if c and c.ag == arg.agent and c.st == 'offered' then F.mark_answered(arg.sid, c) end
  c = F.get_call(arg.sid)
  F.settle()
  if c and c.ag == arg.agent and c.st == 'on_call' then return {offer = F.offer_of(arg.sid)} end
  return {}
end

-- DialCallStatus says what became of the agent's leg, never whether the caller is still
-- there (canceled means canceled through REST: https://www.twilio.com/docs/voice/twiml/dial
-- #dialcallstatus). The caller's own hang-up is the status callback's to report (OPS.hangup);
-- ivr/call/voice.py does not call this op for a caller whose call has ended.
function OPS.dial_result()
  local sid, c = arg.sid, F.get_call(arg.sid)
  local mine = c and c.ag == arg.agent
  if mine and arg.status == 'completed' and (c.st == 'offered' or c.st == 'on_call') then
    if c.st == 'offered' then F.mark_answered(sid, c) end
    F.finish(sid, c, arg.dur * 1000)
  elseif mine and MISSED[arg.status] and c.st == 'offered' then
    F.miss(sid, c, arg.status ~= 'canceled')
  end
  F.settle()
  redis.call('ZREM', PULLS, sid)
  local out = {placement = arg.status == 'completed' and {kind = 'none'} or F.placement(sid)}
  if arg.tick == 1 then out.offers = F.drain(sid) end  -- and a tick's offers (dial_result_tick)
  return out
end

-- The caller's leg has ended: waiting or ringing an agent, they abandoned; talking, done.
function F.caller_left(sid, c)
  if c.st == 'waiting' then
    F.dequeue(sid, c)
    c.st = 'gone'
    F.put_call(sid, c)
    F.event('abandoned', sid, c, '', now - c.e)
  elseif c.st == 'offered' then
    F.caller_gone(sid, c)
  elseif c.st == 'on_call' then
    F.finish(sid, c, now - c.am)
  end
end

-- The caller can hear the agent now: bridged. Records the time to a human, from the call's
-- first webhook (t0; for a call-back, the moment the senior answered our call).
function F.connect(sid, c)
  if c.st == 'offered' then F.mark_answered(sid, c) end
  -- a return visit is no caller waiting for a human: kept out of the times to a human (the
  -- per-dialect figures count every connected event, whatever its queue)
  if c.cv then return end
  F.event('connected', sid, c, c.ag, now - (c.t0 or c.e))
end

function OPS.connected()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.ag == arg.agent and (c.st == 'offered' or c.st == 'on_call') then F.connect(sid, c) end
  return {}
end

-- The caller's own conference (ivr/call/connect.py): it started (the agent arrived) or the caller
-- joined it. Once both have happened, in either order, the caller hears the agent.
function OPS.room_event()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if not c or (c.st ~= 'offered' and c.st ~= 'on_call') or arg.what == '' then return {} end
  -- ra: the offered agent arrived (cleared with each new offer); rj: the caller is in the room
  if arg.what ~= 'caller' then c.ra = 1 end  -- 'start', or 'both' (started with them in it)
  if arg.what ~= 'start' then c.rj = 1 end
  F.put_call(sid, c)
  if c.ra == 1 and c.rj == 1 then F.connect(sid, c) end
  return {}
end

-- A call-back entry outlives the inbound call that asked for it: its end is reported by the
-- call-back leg's own status callback (OPS.callback_result), not here.
function OPS.hangup()
  local sid, c = arg.sid, F.get_call(arg.sid)
  local out = {}
  if c and c.cb ~= 1 then
    -- the agent's leg placed for a caller who has gone is ended through REST: ringing, or
    -- answered into a room the caller has just left
    if (c.st == 'offered' or c.st == 'on_call') and (c.al or '') ~= '' then out.cancel = c.al end
    F.caller_left(sid, c)
  end
  F.settle()
  if arg.tick == 1 then out.offers = F.drain(nil) end  -- and a tick's offers (hangup_tick)
  return out
end

-- The call flow placed agent `agent`'s leg (its CallSid `leg`) for this offer; `room`: the
-- caller waits for them in the call's own conference (ivr/call/connect.py).
function OPS.agent_leg()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.ag == arg.agent and c.st == 'offered' then
    c.al = arg.leg
    if arg.room == 1 then c.rm = 1 end
    F.put_call(sid, c)
  end
  return {}
end

-- The call flow could not place the agent's leg for this offer (Twilio's REST API failed)
-- while the caller waits in their room: the agent stays theirs and the offer is handed out
-- again by the next tick (or poll), so that the leg is tried again. Releasing it would let
-- the same assignment re-offer the agent at once, and nobody would ring them.
function OPS.ring_later()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.ag == arg.agent and c.st == 'offered' and (c.al or '') == '' then
    redis.call('ZADD', PULLS, now_str, sid)
  end
  return {}
end

-- Exactly one agent's leg per offer. Whoever places it (a REST leg ringing the agent to the
-- caller's room, or a <Dial>) claims it first; a second claimant is refused. The race: an
-- offer made by a ticker beat or another call's webhook is rung through REST after that
-- webhook's answer, while the caller's own wait-URL poll may see the offer first and leave the
-- queue to be connected from their own webhook (BENCHMARKS.md, section 8). `room` = 1: the
-- claimant puts the caller in their room if refused (the other leg will join them there).
-- Returns ok = 1 (claimed), 0 (another has it), -1 (no offer of this agent to claim); rm = 1
-- when the caller waits in their room.
function OPS.claim_leg()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if not c or c.ag ~= arg.agent or c.st ~= 'offered' then return {ok = -1} end
  return F.claim_leg(sid, c, arg.room == 1)
end

-- The claimed leg could not be placed (Twilio's REST API failed): the claim is given back.
-- A caller in their room is offered again at the next tick, the agent still theirs, so that
-- the leg is tried again (as OPS.ring_later); rm says so. Otherwise the call flow connects
-- them another way (the classic <Dial>), claiming anew.
function OPS.leg_failed()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if not c or c.ag ~= arg.agent or c.st ~= 'offered' or (c.al or '') ~= '' then return {} end
  c.lk = 0
  F.put_call(sid, c)
  if c.rm == 1 then redis.call('ZADD', PULLS, now_str, sid) end
  return {rm = c.rm == 1 and 1 or 0}
end

function OPS.callback()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.cb ~= 1 and (c.st == 'waiting' or c.st == 'offered') then
    c.cb = 1
    F.put_call(sid, c)
    F.event('callback_requested', sid, c, '', now - c.e)
    if c.st == 'offered' then
      -- already assigned but not yet connected: the agent stays reserved, we call back
      redis.call('ZADD', PULLS, now_str, sid)
      F.event('callback_placed', sid, c, c.ag, now - c.e)
    end
  end
  F.settle()
  return {}
end

-- The senior answered our call-back (a person, not a machine) on leg `leg`, a call of its
-- own with its own CallSid: from now on they are on the line there, so a later assignment
-- pulls that leg out of the queue instead of placing another call.
function OPS.callback_answered()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.cb == 1 and not F.on_line(c) and (c.st == 'offered' or c.st == 'waiting') then
    c.lg, c.t0 = arg.leg, now
    F.put_call(sid, c)
  end
  F.settle()
  return {}
end

-- A call-back attempt that never reached the senior: the agent is free, the entry retries.
function F.callback_unreached(sid, c)
  F.release_agent(c.ag, sid, nil)
  redis.call('ZREM', PULLS, sid)
  if c.cv then  -- a return visit is retried by its campaign's plan (routing/campaigns.py)
    c.st, c.at = 'unreached', c.at + 1
    F.put_call(sid, c)
    return
  end
  c.at, c.ag = c.at + 1, ''
  if c.at >= cfg.cba then
    c.st = 'failed'
    redis.call('ZADD', FAILED, now_str, sid)
    F.event('callback_failed', sid, c, '', now - c.e)
  else
    c.st = 'retry'
    redis.call('ZADD', RETRY, digits(now + cfg.cbr), sid)
  end
  F.put_call(sid, c)
end

function OPS.callback_result()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.cb == 1 then
    if F.on_line(c) and FINAL[arg.status] then
      F.caller_left(sid, c)  -- the leg the senior answered has ended
    elseif c.st == 'on_call' and arg.status == 'completed' then
      F.finish(sid, c, now - c.am)
    elseif c.st == 'offered' and (UNREACHED[arg.status] or arg.status == 'completed') then
      F.callback_unreached(sid, c)
    end
  end
  F.settle()
  return {offers = F.drain(nil)}
end

-- The caller left the Twilio queue by an error (QueueResult error, queue-full or
-- system-error: https://www.twilio.com/docs/voice/twiml/enqueue#attributes-action); the call
-- flow sends them to the fallback line, so nobody may be offered them any more.
function OPS.left_queue()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and (c.st == 'waiting' or c.st == 'offered') then
    if c.st == 'offered' then
      F.release_agent(c.ag, sid, nil)
      redis.call('ZREM', PULLS, sid)
    end
    F.dequeue(sid, c)
    c.st, c.ag = 'overflowed', ''
    F.put_call(sid, c)
    F.event('overflowed', sid, c, '', now - c.e)
  end
  F.settle()
  return {}
end

-- Twilio found the caller's queue full (QueueResult queue-full: the queue's maxSize,
-- https://www.twilio.com/docs/api/errors/14207): routed as the queue overflows. 'queue' moves
-- them (the call flow enqueues them there); 'line' marks them overflowed (the call flow dials
-- the line); 'callback' leaves them waiting while the call flow offers the call-back (their
-- answer comes as OPS.callback or OPS.left_queue); no overflow: as any queue error.
function OPS.queue_full()
  local sid, c = arg.sid, F.get_call(arg.sid)
  local q = c and Q[c.q]
  if not q or c.st ~= 'waiting' or q.ok == '' then return OPS.left_queue() end
  if q.ok ~= 'callback' then F.overflow(sid, c, q) end
  F.settle()
  -- an offer made to them now is this webhook's to act on (ivr/call/voice.py _queue_full), as
  -- in OPS.arrive: a tick must not pull it too (they are in no Twilio queue to dequeue)
  redis.call('ZREM', PULLS, sid)
  return {placement = F.placement(sid), kind = q.ok}
end

function OPS.agent_state()
  local p = F.get_profile(arg.id)
  if not p then return {err = 'unknown agent ' .. arg.id} end
  local st, to = F.get_state(arg.id), arg.state
  if to == 'available' then
    st.nx = ''
    if st.s == 'offline' or st.s == 'away' or st.s == 'wrap_up' then
      st.m, st.i = 0, now
      F.move_agent(p, st, 'available')
    else
      F.put_state(p.id, st)
    end
  elseif st.s == 'offered' or st.s == 'on_call' then
    st.nx = to   -- a call in progress is not cut off: the agent leaves when it ends
    F.put_state(p.id, st)
  elseif st.s ~= to then
    st.nx = ''
    F.move_agent(p, st, to)
  end
  F.settle()
  return {offers = F.drain(nil)}
end

-- supervisors ------------------------------------------------------------------------------

-- The state the agent is in as the pages show it: a wrap-up past its end is over (it ends
-- lazily, at the next settle).
function F.shown_state(st)
  if st.s == 'wrap_up' and st.w <= now then return st.nx ~= '' and st.nx or 'available' end
  return st.s
end

-- End what holds the agent, if it is theirs: an offered caller goes back to their place in
-- line (as after a miss, but not counted against the agent); a call in progress is completed,
-- counted once. Returns what it ended: 'offer', 'call' or ''; and for an offer, the agent's
-- leg placed for it ('' if none), which the call flow ends: it may still ring, and its TwiML
-- would take the agent into the caller's room with no webhook to stop them.
function F.end_held(p, st)
  local sid = st.c
  local c = sid ~= '' and F.get_call(sid) or nil
  if not c or c.ag ~= p.id then return '' end
  if c.st == 'offered' then
    local leg, line = c.al or '', ''
    -- No agent's leg of ours, none being placed, the caller in no room: the classic path,
    -- where Twilio may still ring the agent through the caller's own <Dial>. The call flow
    -- takes the caller's line out of it (ivr/call/dispatch.py, reconnect), ending that ring.
    if leg == '' and (c.lk or 0) == 0 and c.rm ~= 1 and (c.cb ~= 1 or F.on_line(c)) then
      line = F.on_line(c) and c.lg or sid
    end
    redis.call('ZREM', PULLS, sid)
    F.miss(sid, c, false)  -- no miss counted: the agent never had a real chance at the caller
    return 'offer', leg, line
  elseif c.st == 'on_call' then
    F.finish(sid, c, nil)
    return 'call'
  end
  return ''
end

-- Append a forced change to the audit list: newest first, at most cfg.fkeep entries, none
-- older than cfg.fkeep_ms; the whole list goes when its newest entry is that old.
function F.audit(entry)
  redis.call('LPUSH', FORCED, cjson.encode(entry))
  redis.call('LTRIM', FORCED, 0, cfg.fkeep - 1)
  local oldest = redis.call('LINDEX', FORCED, -1)
  while oldest and cjson.decode(oldest).at < now - cfg.fkeep_ms do
    redis.call('RPOP', FORCED)
    oldest = redis.call('LINDEX', FORCED, -1)
  end
  redis.call('PEXPIRE', FORCED, cfg.fkeep_ms)
end

-- A supervisor puts an agent in a state now, ending a stale offer or call that holds them
-- (its end was never reported); agent_state, by contrast, waits for the call to end.
function OPS.force_state()
  local p = F.get_profile(arg.id)
  if not p then return {err = 'unknown agent ' .. arg.id} end
  local before = F.get_state(arg.id)
  local ended, leg, line = F.end_held(p, before)
  local st = F.get_state(arg.id)  -- as end_held left it (a completed call: in wrap-up)
  st.c, st.nx, st.m = '', '', 0
  if st.s ~= arg.state then
    st.i = now
    F.move_agent(p, st, arg.state)
  else
    F.put_state(p.id, st)
  end
  local change = {at = now, by = arg.by, via = arg.via, agent = p.id, from = F.shown_state(before),
                  to = arg.state, call = before.c, ended = ended}
  F.audit(change)
  F.settle()
  return {offers = F.drain(nil), change = change, cancel = leg or '', line = line or ''}
end

function OPS.save()
  local p, old = arg, F.get_profile(arg.id)
  local st = F.get_state(p.id)
  if old and st.s == 'available' then F.unindex_agent(old) end
  if old and STAFFED_STATES[st.s] then F.staff(old, -1) end
  redis.call('HSET', AGENTS, p.id, cjson.encode(p))
  profiles[p.id] = nil
  if STAFFED_STATES[st.s] then F.staff(p, 1) end
  if st.s == 'available' then F.index_agent(p, st.i) end
  F.put_state(p.id, st)
  F.settle()
  return {}
end

function OPS.remove()
  local p = F.get_profile(arg.id)
  if p then
    local st = F.get_state(arg.id)
    F.move_agent(p, st, 'offline')
    local c = st.c ~= '' and F.get_call(st.c) or nil
    if c and c.st == 'offered' and c.ag == p.id then
      F.requeue(st.c, c)
      redis.call('ZREM', PULLS, st.c)
    end
    redis.call('HDEL', AGENTS, p.id)
    redis.call('ZREM', OPEN, p.id)
    profiles[p.id] = nil
    redis.call('HDEL', ASTATE, p.id)
    STATES_WRITTEN = true
  end
  F.settle()
  return {}
end

-- open lines ------------------------------------------------------------------------------

-- The agent's open line `leg` ended (its status callback): no longer connected, its minutes
-- recorded (agent figures, t_open_line). A caller offered through it and not yet put through
-- goes back to their place in line, the agent excluded from them for `excl` ms and no miss
-- counted; returns that caller's line, for the call flow to send to /voice/connect (their new
-- agent, or their place) within the same second. A conversation through it ends with the
-- room: the caller's own reports close it.
function F.line_down(p, st, leg)
  if leg == '' then return nil end
  if st.op == leg then st.op = nil end
  if st.ol ~= leg then
    F.put_state(p.id, st)
    return nil
  end
  local since = tonumber(redis.call('ZSCORE', OPEN, p.id))
  if since then record_state_time(p.id, 'open_line', now - since, IV, IV_EXPIRE) end
  redis.call('ZREM', OPEN, p.id)
  st.ol, st.oc = nil, nil
  F.put_state(p.id, st)
  local sid = st.c or ''
  local c = sid ~= '' and F.get_call(sid) or nil
  if not c or c.ag ~= p.id or c.st ~= 'offered' or c.ol ~= leg then return nil end
  redis.call('ZREM', PULLS, sid)
  F.miss(sid, c, false)
  if c.cb == 1 then return nil end  -- a call-back's leg follows the call-back's own flow
  return sid
end

-- arg.ev 'placed': the call flow placed the agent's open line, leg arg.leg; 'failed': it could
-- not (the claim of OPS.lines given back); 'down': leg arg.leg ended (F.line_down).
function OPS.open_line()
  local p = F.get_profile(arg.id)
  if not p then return {err = 'unknown agent ' .. arg.id} end
  local st, out = F.get_state(arg.id), {}
  if arg.ev == 'placed' then
    st.op = arg.leg
    F.put_state(p.id, st)
  elseif arg.ev == 'failed' then
    if st.op == '?' then st.op = nil end
    F.put_state(p.id, st)
  elseif arg.ev == 'down' then
    out.moved = F.line_down(p, st, arg.leg)
  end
  F.settle()
  out.offers = F.drain(nil)
  return out
end

-- The agent's room (its status callback, set by their open line, its first participant):
-- arg.ev 'join' of arg.leg (their own line: connected, in room arg.conf; else the caller
-- they were given), 'announced' (the announcement of that caller to the agent ended). The
-- caller hears the agent once both happened; arg.ann = 0: no announcement is made (no
-- whisper), the join alone. An offline agent's line joining is answered with close = the leg.
function OPS.open_room()
  local p = F.get_profile(arg.id)
  if not p then return {} end
  local st = F.get_state(arg.id)
  if arg.ev == 'join' and arg.leg ~= '' and arg.leg == st.op then
    if st.s == 'offline' or not p.persistent then return {close = arg.leg} end
    st.ol, st.oc = arg.leg, arg.conf
    F.put_state(p.id, st)
    redis.call('ZADD', OPEN, now_str, p.id)
    F.settle()
    return {offers = F.drain(nil)}
  end
  local sid = st.c or ''
  local c = sid ~= '' and F.get_call(sid) or nil
  if not c or c.ag ~= p.id or (c.ol or '') == '' then return {} end
  if c.st ~= 'offered' and c.st ~= 'on_call' then return {} end
  if arg.ev == 'join' and (arg.leg == sid or arg.leg == c.lg) then
    c.oj = 1
    if arg.ann == 0 then c.oa = 1 end
  elseif arg.ev == 'announced' then
    c.oa = 1
  else
    return {}
  end
  F.put_call(sid, c)
  if c.oj == 1 and c.oa == 1 then F.connect(sid, c) end
  return {}
end

-- The open lines to place and to close: persistent agents signed in with none (each claimed,
-- op = '?', for 30 s, so that two servers do not both place one), and the lines of agents
-- signed out or no longer persistent.
function OPS.lines()
  local open, close = {}, {}
  local states = redis.call('HGETALL', ASTATE)
  for i = 1, #states, 2 do
    local id, st = states[i], cjson.decode(states[i + 1])
    local p = F.get_profile(id)
    local wanted = p and p.persistent and st.s ~= 'offline'
    local op = st.op or ''
    if wanted and (op == '' or (op == '?' and now - (st.ot or 0) >= 30000)) then
      st.op, st.ot = '?', now
      F.put_state(id, st)
      open[#open + 1] = p
    elseif not wanted and op ~= '' and op ~= '?' then
      close[#close + 1] = op
    end
  end
  return {open = open, close = close}
end

function OPS.snapshot()
  F.settle()
  local queues = {}
  for _, q in ipairs(cfg.q) do
    local all = redis.call('ZRANGE', F.wait_all(q), 0, 0, 'WITHSCORES')
    local sr = redis.call('ZRANGE', F.wait_sr(q), 0, 0, 'WITHSCORES')
    queues[#queues + 1] = {n = q.n, all = redis.call('ZCARD', F.wait_all(q)),
                           sr = redis.call('ZCARD', F.wait_sr(q)),
                           all_e = tonumber(all[2]) or 0, sr_e = tonumber(sr[2]) or 0}
  end
  return {queues = queues, states = redis.call('HGETALL', ASTATE),
          retry = redis.call('ZCARD', RETRY), failed = redis.call('ZCARD', FAILED)}
end

-- Claim up to arg.limit live calls not heard of for cfg.rca ms: each is marked looked-up
-- now (so another server's beat does not take it again for cfg.rca ms) and returned for
-- the caller to ask Twilio about. A call-back entry's own sid is not the call-back's call.
function OPS.stale()
  local out = {}
  local due = redis.call('ZRANGEBYSCORE', HEARD, '-inf', now - cfg.rca, 'LIMIT', 0, arg.limit)
  for _, sid in ipairs(due) do
    local c = F.get_call(sid)
    if c and F.live(c) then
      redis.call('ZADD', HEARD, now_str, sid)
      out[#out + 1] = {sid = sid, cb = c.cb}
    else
      redis.call('ZREM', HEARD, sid)
    end
  end
  return {stale = out}
end

-- What Twilio says of a stale call (OPS.stale): a final status closes it as the lost status
-- callback would have (OPS.hangup, which reads arg.sid too); "unreported" (Twilio could not
-- be asked) closes it only once nothing has been heard of it for cfg.maxc ms.
function OPS.reconcile()
  local c = F.get_call(arg.sid)
  if not c or not F.live(c) then return {} end
  if FINAL[arg.status] and c.cb ~= 1 then return OPS.hangup() end
  if arg.status == 'unreported' and now - (c.lr or c.e) >= cfg.maxc then
    F.close_unreported(arg.sid, c)
    F.settle()
  end
  return {}
end

-- return visits ---------------------------------------------------------------------------

-- Return visits holding an agent now (offered or talking). Visits found over leave the set
-- here, whichever way they ended: no path that ends a call needs to know of visits.
function F.visits_holding()
  local n = 0
  for _, sid in ipairs(redis.call('SMEMBERS', VISITING)) do
    local c = F.get_call(sid)
    local st = c and c.st or ''
    if st == 'offered' or st == 'on_call' then n = n + 1
    elseif st ~= 'waiting' then redis.call('SREM', VISITING, sid) end
  end
  return n
end

-- Whether agent `p` could serve anybody waiting now, or later once their queue's ladder
-- reaches a rung of theirs: then the agent is the inbound callers', not a visit's.
function F.wanted_inbound(p)
  for _, q in ipairs(F.queues_waiting()) do
    for _, rung in ipairs(cfg.ladder[q.n]) do
      if rung.s == '*' then return true end
      for _, s in ipairs(p.skills or {}) do if s == rung.s then return true end end
    end
  end
  return false
end

-- The idle agent a visit of queue `q` to a customer of dialect `d` may take: the queue's
-- skill, the dialect preferred (never required: nobody waits on the line for it), longest
-- idle first; nobody a waiting caller could take; never one of the last `rsv` free
-- senior-trained agents, whom the senior reserve keeps for seniors who call.
function F.visit_agent(q, d)
  local base = q.s ~= '' and q.s or '*'
  local kept = cfg.rsv > 0 and SK['senior'] and F.avail('senior') or nil
  local spare = kept and redis.call('ZCARD', kept) > cfg.rsv
  local tries = DL[d] and {F.avail(base, d), F.avail(base)} or {F.avail(base)}
  for _, k in ipairs(tries) do
    for _, id in ipairs(redis.call('ZRANGE', k, 0, 7)) do
      local p = F.get_profile(id)
      local reserved = kept and not spare and redis.call('ZSCORE', kept, id)
      if p and not reserved and not F.wanted_inbound(p) then return id end
    end
  end
  return nil
end

-- Why a visit may not start now ('' if it may, with the agent): the share of the staffed
-- agents return visits may hold (cfg.vsh per mille, rounded down), or no suitable agent
-- (none idle beyond the cfg.vki kept for callers).
function F.visit_refusal(q, d)
  local staffed = tonumber(redis.call('HGET', STAFFED, '*|')) or 0
  if F.visits_holding() + 1 > math.floor(cfg.vsh * staffed / 1000) then return 'share', nil end
  -- campaigns.keep_idle: so many agents stay free for whoever calls next
  if redis.call('ZCARD', F.avail('*')) <= cfg.vki then return 'no_agent', nil end
  local agent = F.visit_agent(q, d)
  if not agent then return 'no_agent', nil end
  return '', agent
end

-- Progressive dialling (docs/campaigns.md): reserve an idle agent for one return visit in the
-- same atomic step that finds nobody waiting needs them, so that the customer is dialled only
-- with their agent already theirs. Settles first: inbound callers are assigned before any
-- visit. The visit becomes a call-back entry nobody is on the line for yet (cb = 1), offered
-- to the agent like any caller (the console's banner, the statistics), with its campaign
-- (cv) and reason (rs); the call flow places the call (ivr/call/visits.py).
-- Returns sid (the visit's, when reserved) or why = share | no_agent | exists.
function OPS.visit()
  F.settle()
  local q = Q[arg.q]
  if not q then return {err = 'unknown queue ' .. tostring(arg.q)} end
  if F.get_call(arg.sid) then return {offers = F.drain(nil), why = 'exists'} end
  local why, agent = F.visit_refusal(q, arg.d)
  if why ~= '' then return {offers = F.drain(nil), why = why} end
  local c = {q = arg.q, sr = arg.sr, nm = arg.nm, num = arg.num, age = arg.age, d = arg.d,
             e = now, st = 'waiting', ag = '', cb = 1, at = 0, qs = '', an = 0, om = 0, am = 0,
             lg = '', t0 = now, cv = arg.cv, rs = arg.rs}
  F.assign(arg.sid, c, agent)
  redis.call('SADD', VISITING, arg.sid)
  return {offers = F.drain(nil), sid = arg.sid}
end

end  -- define
define()

local fn = OPS[op]
if not fn then return redis.error_reply('unknown routing operation ' .. tostring(op)) end
local out = fn()
if out.err then return redis.error_reply(out.err) end
out.made = made
-- ARGV[6] '1': also say what a tick at this instant would find (the simulator's ticker, which
-- then needs no call of its own after this one: Router.last_call)
if ARGV[6] == '1' then
  out.after = {at = F.due_at(), pulls = redis.call('EXISTS', PULLS), settled = SETTLED,
               states = STATES_WRITTEN}
end
return cjson.encode(out)
