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
