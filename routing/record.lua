-- Record one queue event: dedupe, update the aggregates, append to the audit stream.
-- Runs after record_lib.lua (stats.py joins the two sources); route.lua records the events
-- of routing decisions itself, with the same functions.
--
-- KEYS[1]  the call's stats hash (dedupe fields "k:<kind>[:<agent>]" and its counted outcome)
-- KEYS[2]  the queue's interval aggregates hash
-- KEYS[3]  the queue's day aggregates hash
-- KEYS[4]  the queue's all-time totals hash
-- KEYS[5]  the audit stream
-- KEYS[6..8] optional: interval, day and totals hashes of an abandon this event overturns
--          (only when a previous call answered {-1, queue, interval})
-- ARGV[1]  kind (entered, offered, answered, missed, abandoned, completed,
--          callback_requested, callback_placed, callback_failed)
-- ARGV[2]  dedupe field, "k:<kind>" or "k:<kind>:<agent>"
-- ARGV[3]  class: "s" (senior) or "o" (other)
-- ARGV[4]  wait (ms)
-- ARGV[5]  service-level threshold of the queue (ms): answered with wait <= it count in SL
-- ARGV[6]  short-abandon threshold (ms): abandons with wait < it are short
-- ARGV[7]  histogram upper bounds (ms), comma-separated, ascending
-- ARGV[8]  event time (epoch ms)
-- ARGV[9]  queue name
-- ARGV[10] interval id (local YYYYMMDDTHHMM) of this event
-- ARGV[11] aggregates expire at (epoch ms)
-- ARGV[12] call hash time to live (ms)
-- ARGV[13] stream cap (approximate MAXLEN)
-- ARGV[14..] stream entry: field, value pairs
-- Returns {1} recorded, {0} duplicate (nothing changed), or {-1, queue, interval}: this event
-- overturns an abandon counted there; call again with KEYS[6..8] for it.

local bounds = {}
for bound in string.gmatch(ARGV[7], '[^,]+') do bounds[#bounds + 1] = tonumber(bound) end
local entry = {}
for i = 14, #ARGV do entry[#entry + 1] = ARGV[i] end

local keys = {
  call = KEYS[1], iv = KEYS[2], day = KEYS[3], total = KEYS[4], events = KEYS[5],
  prior = function()
    if #KEYS < 8 then return nil end
    return {KEYS[6], KEYS[7], KEYS[8]}
  end,
}
local event = {
  kind = ARGV[1], dfield = ARGV[2], class = ARGV[3], wait = tonumber(ARGV[4]),
  sl = tonumber(ARGV[5]), short = tonumber(ARGV[6]), bounds = bounds, at = ARGV[8],
  queue = ARGV[9], interval = ARGV[10], expire = ARGV[11], ttl = ARGV[12], maxlen = ARGV[13],
  entry = entry,
}
return {record_event(keys, event)}
