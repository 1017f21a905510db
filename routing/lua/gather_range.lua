-- Read a range of intervals' aggregate hashes (routing/reporting/queue_stats.py). ARGV = n, group, n key
-- stems (routing/keys.py's interval stems, one per queue), then the interval ids; skips a
-- group of intervals at once when none of its hashes exists.
local n, group = tonumber(ARGV[1]), tonumber(ARGV[2])
local first = n + 3
local out = {}
for g = first, #ARGV, group do
  local names = {}
  for i = g, math.min(g + group - 1, #ARGV) do
    for j = 3, n + 2 do names[#names + 1] = ARGV[j] .. ARGV[i] end
  end
  if redis.call('EXISTS', unpack(names)) > 0 then
    for m, key in ipairs(names) do
      local row = redis.call('HGETALL', key)
      if #row > 0 then
        out[#out + 1] = (g - first) * n + m
        out[#out + 1] = table.concat(row, '\n')
      end
    end
  end
end
return out
