-- open lines ------------------------------------------------------------------------------

-- The agent's open line `leg` ended (its status callback): no longer connected, its minutes
-- recorded (agent figures, t_open_line). A caller offered through it and not yet put through
-- goes back to their place in line, the agent excluded from them for `cfg.exclude_missed_ms` ms
-- and no miss counted; returns that caller's line, for the call flow to send to /voice/connect
-- (their new agent, or their place) within the same second. A conversation through it ends with
-- the room: the caller's own reports close it.
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

-- arg.ev 'placed': the call flow placed the agent's open line, leg arg.leg (out.close = the
-- leg when the agent's own softphone got there first: two legs never wait in one room);
-- 'device': the agent's softphone is about to connect the line itself (the claim OPS.lines
-- makes, made or renewed, so the ticker leaves it to the softphone for 30 s, then places it
-- by REST; a REST leg being placed meanwhile still becomes the line);
-- 'dialled': the softphone's leg arg.leg reached the app (out.ok = 1 if it is now the line:
-- the agent wants one, is signed in and has none placed); 'failed': it could not be placed
-- (the claim given back); 'down': leg arg.leg ended (F.line_down).
function OPS.open_line()
  local p = F.get_profile(arg.id)
  if not p then return {err = 'unknown agent ' .. arg.id} end
  local st, out = F.get_state(arg.id), {}
  local op = st.op or ''
  if arg.ev == 'placed' then
    if op ~= '' and op ~= '?' and op ~= arg.leg then
      out.close = arg.leg
    else
      st.op = arg.leg
      F.put_state(p.id, st)
    end
  elseif arg.ev == 'device' then
    -- made before the profile or state that makes the line wanted is written, so that a
    -- ticker's OPS.lines between the two cannot claim it for REST first
    if op == '' or op == '?' then
      st.op, st.ot = '?', now
      F.put_state(p.id, st)
    end
  elseif arg.ev == 'dialled' then
    if (op == '' or op == '?') and p.persistent and st.s ~= 'offline' then
      st.op = arg.leg
      F.put_state(p.id, st)
      out.ok = 1
    end
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
  for _, q in ipairs(cfg.queues) do
    local all = redis.call('ZRANGE', F.wait_all(q), 0, 0, 'WITHSCORES')
    local sr = redis.call('ZRANGE', F.wait_sr(q), 0, 0, 'WITHSCORES')
    queues[#queues + 1] = {n = q.name, all = redis.call('ZCARD', F.wait_all(q)),
                           sr = redis.call('ZCARD', F.wait_sr(q)),
                           all_e = tonumber(all[2]) or 0, sr_e = tonumber(sr[2]) or 0}
  end
  return {queues = queues, states = redis.call('HGETALL', ASTATE),
          retry = redis.call('ZCARD', RETRY), failed = redis.call('ZCARD', FAILED)}
end

-- Claim up to arg.limit live calls not heard of for cfg.reconcile_after_ms ms: each is marked
-- looked-up now (so another server's beat does not take it again for cfg.reconcile_after_ms ms)
-- and returned for the caller to ask Twilio about. A call-back entry's own sid is not the
-- call-back's call.
function OPS.stale()
  local out = {}
  local due = redis.call('ZRANGEBYSCORE', HEARD, '-inf', now - cfg.reconcile_after_ms, 'LIMIT', 0,
    arg.limit)
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
-- be asked) closes it only once nothing has been heard of it for cfg.max_call_ms ms.
function OPS.reconcile()
  local c = F.get_call(arg.sid)
  if not c or not F.live(c) then return {} end
  if FINAL[arg.status] and c.cb ~= 1 then return OPS.hangup() end
  if arg.status == 'unreported' and now - (c.lr or c.e) >= cfg.max_call_ms then
    F.close_unreported(arg.sid, c)
    F.settle()
  end
  return {}
end

