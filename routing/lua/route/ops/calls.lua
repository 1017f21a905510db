-- operations ------------------------------------------------------------------------------

-- The agent's conversation on `sid` is over: wrap-up, then the next caller.
function F.wrap_up(sid, c)
  local p, st = F.get_profile(c.ag), F.get_state(c.ag)
  if p and st.c == sid then
    st.c, st.w = '', now + cfg.wrap_up_ms
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
  if talk_ms then F.ewma(c.q .. ':h', talk_ms + cfg.wrap_up_ms) end
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
    if st.m >= cfg.max_missed_offers and to == 'available' then to = 'away' end
    st.nx = ''
    F.move_agent(p, st, to)
  end
  if counts then F.event('missed', sid, c, c.ag, now - c.e) end
  F.requeue(sid, c)
end

-- An offer ended with no conversation: the caller waits again under their entry time, and the
-- agent offered is excluded from them for `cfg.exclude_missed_ms` ms (F.excluded). The room
-- flag goes with the offer: the next agent's arrival must be heard of before the caller counts
-- as connected.
function F.requeue(sid, c)
  local mx = {}
  for id, till in pairs(c.mx or {}) do
    if now < till then mx[id] = till end
  end
  if c.ag ~= '' then mx[c.ag] = now + cfg.exclude_missed_ms end
  c.mx = next(mx) and mx or nil
  c.st, c.ag, c.ra = 'waiting', '', nil
  c.ol, c.oc, c.oj, c.oa = nil, nil, nil, nil  -- the open line they were on their way to
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

-- A live call nothing has been heard of for cfg.max_call_ms ms, and Twilio cannot say how it ended:
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

-- One statistics event from outside a routing decision (routing/queues/recorder.py), at `now`.
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
  for _, rung in ipairs(cfg.ladder[q.name]) do
    if c.e + rung.opens_ms > now then at = c.e + rung.opens_ms; break end
  end
  local release = cfg.senior_reserve > 0 and c.sr ~= 1 and c.e + cfg.senior_reserve_release_ms
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
  -- a waiting senior may end a wrap-up `cfg.senior_wrap_up_break_ms` after it started
  -- (break_wrap_up)
  local seniors = cfg.senior_wrap_up_break_ms > 0
    and redis.call('EXISTS', unpack(K.senior_waiting)) > 0
  local wrap_break = seniors and cfg.senior_wrap_up_break_ms - cfg.wrap_up_ms or 0
  local spill = F.overflow_at()
  if spill and (at == nil or spill < at) then at = spill end
  local after = {[WRAP] = wrap_break, [RETRY] = 0, [EXPIRY] = 0, [HEARD] = cfg.reconcile_after_ms}
  for key, later in pairs(after) do
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
-- lk 2: claimed by a request that <Dial>s the agent (the classic path): no leg will be placed,
-- so a second request for the same caller (the pull's URL and the <Enqueue> action's) dials too
function F.claim_leg(sid, c, room, dial)
  local ok = (c.lk or 0) == 0 and (c.al or '') == ''
  if ok then c.lk = dial and 2 or 1 end
  if room then c.rm = 1 end
  F.put_call(sid, c)
  return {ok = ok and 1 or 0, rm = c.rm == 1 and 1 or 0, dl = c.lk == 2 and 1 or 0}
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

-- A call-back overflow (q.overflow_kind 'callback'): offered once the caller has waited
-- overflow_after, or from the start when they found the queue longer than overflow_length.
function F.offers_callback(c)
  local q = Q[c.q]
  if q.overflow_kind ~= 'callback' then return false end
  return c.lo == 1 or (q.overflow_after_ms > 0 and now - c.e >= q.overflow_after_ms)
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
    out.announce = c.an == 0 or now - c.an >= cfg.announce_every_ms
    if out.announce then c.an = now end
    -- offered at the announcement's pace, so a senior is not asked every few seconds
    out.cb_offer = out.announce and c.cb == 0 and (
      (c.sr == 1 and now - c.e >= cfg.callback_offer_after_ms) or F.offers_callback(c))
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
  -- the report of an agent's leg (`leg`, its CallSid) is about this offer only if it is the
  -- leg placed for it: a late one from an earlier offer's leg changes nothing
  local leg, placed = arg.leg or '', c and c.al or ''
  local mine = c and c.ag == arg.agent and (leg == '' or placed == '' or leg == placed)
  local over = arg.status == 'completed'
  if mine and over and c.st == 'offered' and arg.strict == 1 then
    -- `strict`: the agent answers for routing only by a webhook (OPS.answered: the classic
    -- whisper, a phone-number agent's key), so a leg that ended without it never reached
    -- the caller (a voicemail that pressed no key, a hang-up during the whisper): a miss,
    -- the next agent at once, the place kept. Otherwise (a softphone's leg on the conference
    -- path) the room's start may simply not have arrived yet: callbacks come in any order
    F.miss(sid, c, true)
    over = false
  elseif mine and arg.status == 'completed' and (c.st == 'offered' or c.st == 'on_call') then
    if c.st == 'offered' then F.mark_answered(sid, c) end
    F.finish(sid, c, arg.dur * 1000)
  elseif mine and MISSED[arg.status] and c.st == 'offered' then
    F.miss(sid, c, arg.status ~= 'canceled')
  end
  F.settle()
  redis.call('ZREM', PULLS, sid)
  local out = {placement = over and {kind = 'none'} or F.placement(sid)}
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
-- ok 0: not recorded, the leg is an orphan to end (the offer is over, or another request
-- <Dial>ed the agent while this leg's create was out: OPS.dial_instead)
function OPS.agent_leg()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if c and c.ag == arg.agent and c.st == 'offered' and c.lk ~= 2 then
    c.al = arg.leg
    if arg.room == 1 then c.rm = 1 end
    F.put_call(sid, c)
    return {ok = 1}
  end
  return {ok = 0}
end

-- The caller is to be connected by <Dial> (the classic path) instead of in their room: no leg
-- is placed for the offer, or one whose create has not come back is an orphan when it does
-- (OPS.agent_leg). ok 0: a leg was placed already (the caller goes to their room); ok 2: a
-- create is out (claimed since the caller looked), taken over only with arg.force.
function OPS.dial_instead()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if not c or c.ag ~= arg.agent or c.st ~= 'offered' then return {ok = -1} end
  if (c.al or '') ~= '' then return {ok = 0} end
  if c.lk == 1 and arg.force ~= 1 then return {ok = 2} end
  c.lk = 2
  F.put_call(sid, c)
  return {ok = 1}
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
  return F.claim_leg(sid, c, arg.room == 1, arg.dial == 1)
end

-- The claimed leg could not be placed (Twilio's REST API failed): the claim is given back.
-- A caller in their room is offered again at the next tick, the agent still theirs, so that
-- the leg is tried again (as OPS.ring_later); rm says so. Otherwise the call flow connects
-- them another way (the classic <Dial>), claiming anew.
function OPS.leg_failed()
  local sid, c = arg.sid, F.get_call(arg.sid)
  if not c or c.ag ~= arg.agent or c.st ~= 'offered' or (c.al or '') ~= '' then return {} end
  if c.lk == 2 then return {} end  -- <Dial>ed meanwhile (OPS.dial_instead): nothing to give back
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
  -- a machine reported after the answer leaves its leg on the record: the next attempt is
  -- a new leg, and the old one's end must not read as the senior hanging up
  c.lg = nil
  redis.call('ZREM', PULLS, sid)
  if c.cv then  -- a return visit is retried by its campaign's plan (routing/outbound/campaigns.py)
    c.st, c.at = 'unreached', c.at + 1
    F.put_call(sid, c)
    return
  end
  c.at, c.ag = c.at + 1, ''
  if c.at >= cfg.callback_attempts then
    c.st = 'failed'
    redis.call('ZADD', FAILED, now_str, sid)
    F.event('callback_failed', sid, c, '', now - c.e)
  else
    c.st = 'retry'
    redis.call('ZADD', RETRY, digits(now + cfg.callback_retry_ms), sid)
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
  if not q or c.st ~= 'waiting' or q.overflow_kind == '' then return OPS.left_queue() end
  if q.overflow_kind ~= 'callback' then F.overflow(sid, c, q) end
  F.settle()
  -- an offer made to them now is this webhook's to act on (ivr/call/voice.py _queue_full), as
  -- in OPS.arrive: a tick must not pull it too (they are in no Twilio queue to dequeue)
  redis.call('ZREM', PULLS, sid)
  return {placement = F.placement(sid), kind = q.overflow_kind}
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

