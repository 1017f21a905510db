-- overflow ------------------------------------------------------------------------------ A
-- queue's overflow (q.overflow_kind, docs/routing.md "Overflow"): 'queue' moves the caller to
-- queue q.overflow_queue keeping their entry time (one hop: settings refuse a target that
-- overflows to a queue); 'line' takes them out of routing as 'overflowed' (the call flow dials
-- the line); 'callback' is an offer made at the wait URL (OPS.poll), so nothing moves here. A
-- caller who asked for a call-back and hung up is not on the phone, so never sent to a line.

function F.move_to(sid, c, to)
  F.dequeue(sid, c)
  F.event('moved_out', sid, c, '', now - c.e)
  c.q = to
  F.put_call(sid, c)
  F.enqueue(sid, c)
  F.event('moved_in', sid, c, '', now - c.e)
end

function F.overflow(sid, c, q)
  if q.overflow_kind == 'queue' then
    F.move_to(sid, c, q.overflow_queue)
    return true
  end
  if q.overflow_kind == 'line' and c.cb ~= 1 then
    F.dequeue(sid, c)
    c.st, c.ag = 'overflowed', ''
    F.put_call(sid, c)
    F.event('overflowed', sid, c, '', now - c.e)
    return true
  end
  return false
end

function F.moves(q)
  return q.overflow_after_ms > 0 and (q.overflow_kind == 'queue' or q.overflow_kind == 'line')
end

-- Callers past their queue's overflow_after leave it (a few per call: the next event or tick
-- takes the rest, and the oldest go first).
function F.overflow_due()
  local moved = false
  for _, q in ipairs(cfg.queues) do
    if F.moves(q) then
      local past = redis.call('ZRANGEBYSCORE', F.wait_all(q), '-inf', now - q.overflow_after_ms,
        'LIMIT', 0, 20)
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
  for _, q in ipairs(cfg.queues) do
    if F.moves(q) then
      local top = redis.call('ZRANGEBYSCORE', F.wait_all(q), '(' .. (now - q.overflow_after_ms),
        '+inf',
        'WITHSCORES', 'LIMIT', 0, 1)
      local t = top[2] and tonumber(top[2]) + q.overflow_after_ms
      if t and (at == nil or t < at) then at = t end
    end
  end
  return at
end

-- A new arrival who finds more than overflow_length callers waiting overflows at once; with a
-- call-back overflow they are offered it at their first announcement (c.lo).
function F.overflow_on_arrival(sid)
  local any = false  -- no queue overflows on arrival (the usual case): the call is not read
  for _, q in ipairs(cfg.queues) do
    any = any or (q.overflow_length > 0 and q.overflow_kind ~= '')
  end
  if not any then return end
  local c = F.get_call(sid)
  local q = c and Q[c.q]
  if not q or c.st ~= 'waiting' or q.overflow_length <= 0 or q.overflow_kind == '' then return end
  if redis.call('ZCARD', F.wait_all(q)) <= q.overflow_length then return end
  if q.overflow_kind == 'callback' then
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

