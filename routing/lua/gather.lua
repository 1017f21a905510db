-- Read many aggregate hashes at once (routing/reporting/queue_stats.py): KEYS = the hashes. Returns, for each
-- hash that exists, its position in KEYS and its fields and values joined by newlines.
local out = {}
for i, key in ipairs(KEYS) do
  local row = redis.call('HGETALL', key)
  if #row > 0 then out[#out + 1] = i; out[#out + 1] = table.concat(row, '\n') end
end
return out
