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
  for _, o in ipairs(cfg.queues) do
    if o.priority > q.priority then rank = rank + redis.call('ZCARD', F.wait_all(o)) end
  end
  return rank + 1
end

function F.wait_figures(sid, c)
  local q = Q[c.q]
  local base = q.skill ~= '' and q.skill or '*'
  return {pos = F.position(sid, c), waited = now - c.e,
          staffed = tonumber(redis.call('HGET', STAFFED, base .. '|')) or 0,
          h = tonumber(redis.call('HGET', EWT, q.name .. ':h')) or 0,
          w = tonumber(redis.call('HGET', EWT, q.name .. ':w')) or 0}
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

