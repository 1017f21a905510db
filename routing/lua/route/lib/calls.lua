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
  redis.call('ZADD', EXPIRY, digits(now + cfg.call_record_ttl_ms), sid)
  if F.live(c) then redis.call('ZADD', HEARD, now_str, sid) else redis.call('ZREM', HEARD, sid) end
end

-- Record one event of call `sid` at `now` (record_lib.lua); 1 recorded, 0 a repeat.
-- `extra`: fields of the per-agent and per-dialect figures (record_people): talk, match.
function F.event(kind, sid, c, agent, wait_ms, extra)
  -- a return visit's events are counted apart from the inbound queues' (routing_script.py VISIT_QUEUE)
  local e = {kind = kind, sid = sid, queue = c.cv and cfg.visit_queue or c.q,
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

