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
    for _, rung in ipairs(cfg.ladder[q.name]) do
      if rung.skill == '*' then return true end
      for _, s in ipairs(p.skills or {}) do if s == rung.skill then return true end end
    end
  end
  return false
end

-- The idle agent a visit of queue `q` to a customer of dialect `d` may take: the queue's
-- skill, the dialect preferred (never required: nobody waits on the line for it), longest
-- idle first; nobody a waiting caller could take; never one of the last `cfg.senior_reserve` free
-- senior-trained agents, whom the senior reserve keeps for seniors who call.
function F.visit_agent(q, d)
  local base = q.skill ~= '' and q.skill or '*'
  local kept = cfg.senior_reserve > 0 and SKILLS['senior'] and F.avail('senior') or nil
  local spare = kept and redis.call('ZCARD', kept) > cfg.senior_reserve
  local tries = DIALECTS[d] and {F.avail(base, d), F.avail(base)} or {F.avail(base)}
  for _, k in ipairs(tries) do
    for _, id in ipairs(redis.call('ZRANGE', k, 0, 7)) do
      local p = F.get_profile(id)
      local reserved = kept and not spare and redis.call('ZSCORE', kept, id)
      if p and not reserved and not F.wanted_inbound(p) then return id end
    end
  end
  return nil
end

-- Why a visit may not start now ('' if it may, with the agent): the share of the staffed agents
-- return visits may hold (cfg.visit_share_permille per mille, rounded down), or no suitable
-- agent (none idle beyond the cfg.visit_keep_idle kept for callers).
function F.visit_refusal(q, d)
  local staffed = tonumber(redis.call('HGET', STAFFED, '*|')) or 0
  if F.visits_holding() + 1 > math.floor(cfg.visit_share_permille * staffed / 1000) then
    return 'share', nil
  end
  -- campaigns.keep_idle: so many agents stay free for whoever calls next
  if redis.call('ZCARD', F.avail('*')) <= cfg.visit_keep_idle then return 'no_agent', nil end
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

