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
    -- No agent's leg of ours, none being placed (lk 1), the caller in no room: the classic
    -- path (lk 0, or 2: <Dial>ed from the room's door), where Twilio may still ring the agent
    -- through the caller's own <Dial>. The call flow takes the caller's line out of it
    -- (ivr/call/dispatch.py, reconnect), ending that ring.
    if leg == '' and (c.lk or 0) ~= 1 and c.rm ~= 1 and (c.cb ~= 1 or F.on_line(c)) then
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

-- Append a forced change to the audit list: newest first, at most cfg.forced_keep entries, none
-- older than cfg.forced_keep_ms; the whole list goes when its newest entry is that old.
function F.audit(entry)
  redis.call('LPUSH', FORCED, cjson.encode(entry))
  redis.call('LTRIM', FORCED, 0, cfg.forced_keep - 1)
  local oldest = redis.call('LINDEX', FORCED, -1)
  while oldest and cjson.decode(oldest).at < now - cfg.forced_keep_ms do
    redis.call('RPOP', FORCED)
    oldest = redis.call('LINDEX', FORCED, -1)
  end
  redis.call('PEXPIRE', FORCED, cfg.forced_keep_ms)
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

