function F.wait_all(q) return K.waiting[q.name].all end
function F.wait_sr(q) return K.waiting[q.name].sr end
-- The queues someone waits in, in config order: a settle looks at no other (an empty zset does
-- not exist, so one EXISTS answers "nobody waits", the usual case while agents are free).
function F.queues_waiting()
  local out = {}
  local n = redis.call('EXISTS', unpack(K.all_waiting))  -- how many queues someone waits in
  if n == 0 then return out end
  for i, q in ipairs(cfg.queues) do
    if redis.call('EXISTS', K.all_waiting[i]) == 1 then
      out[#out + 1] = q
      if #out == n then break end
    end
  end
  return out
end
function F.bucket_of(d) if DIALECTS[d] then return d end return 'other' end
function F.wait_bucket(q, b) return K.waiting[q.name].by[b] end
function F.avail(s, d)
  if d then return K.available[s].by[d] end
  return K.available[s].any
end

