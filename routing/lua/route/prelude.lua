-- Routing: apply one event (arrival, poll, answer, dial result, hang-up, call-back, agent
-- change) and then settle, i.e. assign waiting callers to free agents until no free agent
-- is eligible for any waiting caller; record the statistics of every event on the way
-- (record_event, record_lib.lua). One call is one atomic routing decision.
--
-- The script is this prelude, then the libraries (route/lib/) and the operations (route/ops/)
-- inside define(), then the dispatch (route/dispatch.lua), joined by routing_script.py (ROUTE_SOURCES)
-- after `lazy`, four constants and record_lib.lua:
-- cfg    the configuration (routing_script.py, RoutingLua._config_of): the settings of SCRIPT_SETTINGS
--        by their full names (times in ms: cfg.wrap_up_ms, cfg.senior_reserve, ...);
--        queues = {{name, priority, skill, aging_ms, overflow_kind ('', callback, line,
--        queue), overflow_after_ms, overflow_length, overflow_queue}} in config order;
--        ladder[queue name] = {{opens_ms (waited), skill or "*", dialect_only}} (`lazy`:
--        made for a queue when a call first reads it); dialects, skills: name -> index ("*"
--        the first skill); buckets: a queue's waiting buckets (each dialect, then 'other');
--        stats = what recording needs (sl per queue, sl_default, short, bounds, ttl, maxlen)
-- K      the key names by name, all under the routing hash tag (routing/keys.py makes each;
--        routing_script.py's RoutingScript._keys_by_name says which is which):
--   K.agents          agent profiles hash (id -> JSON {id, name, contact, skills, dialects})
--   K.agent_states    agent states hash (id -> JSON {s state, t since ms, c call, m missed,
--                     i idle ms, w wrap-up end ms, nx state to take after the current call})
--   K.calls           calls hash (sid -> JSON call record, see OPS.arrive)
--   K.call_expiry     call expiry zset (sid -> expiry ms)
--   K.wrap_up         wrap-up zset (agent -> wrap-up end ms)
--   K.open_lines      agents whose open line is connected (agent -> ms it connected); their
--                     state keeps the leg (ol), its room's ConferenceSid (oc) and the leg
--                     placed or being placed (op: a CallSid, or '?' while placing since ot)
--   K.staffed         staffed counts hash ("skill|" and "skill|dialect" -> agents staffed)
--   K.pulls           pulls zset (sid -> ms offered; offers the call flow has not acted on)
--   K.callback_retry  call-back retry zset (sid -> due ms)
--   K.callback_failed call-back failed zset (sid -> ms)
--   K.ewt             moving averages hash ("<queue>:w" answered wait ms, "<queue>:h" handle)
--   K.visiting        return visits that may hold an agent (sids; OPS.visit counts them)
--   K.heard           live calls (waiting, offered, on call) -> ms last heard of or looked
--                     up: what OPS.stale finds calls whose end report may have been lost in
--   K.waiting[queue]  .all and .sr (seniors) waiting zsets, and .by[bucket]: one per dialect
--                     of cfg.dialects and .by.other for the rest (sid -> entry ms)
--   K.available[skill] for each skill of cfg.skills ("*" too): .any, and .by[dialect]
--                     (agent -> idle-since ms)
--                     (these two are `lazy`: a queue's or skill's table is made the first
--                     time a call reads it, so no call builds all ~100 names)
--   K.all_waiting, K.senior_waiting  every queue's .all and .sr, in the order of cfg.queues
-- SK     the statistics keys as string.format patterns (routing/keys.py), same hash tag
-- FORCED the supervisors' forced state changes (list, newest first), same hash tag
-- KEYS[1] is K.agents: declared so that a Redis Cluster client sends the call to the slot every
--         key above lives on.
-- ARGV[1]  operation: tick, arrive, poll, answered, connected, agent_leg, ring_later,
--          claim_leg, leg_failed, dial_instead,
--          dial_result, hangup, room_event, callback, callback_answered, callback_result,
--          left_queue, agent_state, force_state, save, remove, snapshot, record, stale,
--          reconcile, due, tick_due, queue_full, visit, open_line, open_room, lines
-- ARGV[2]  now (epoch ms)
-- ARGV[3]  the operation's arguments as JSON
-- ARGV[4]  the statistics interval id of now (local YYYYMMDDTHHMM)
-- ARGV[5]  when that interval's aggregates expire (epoch ms)
-- ARGV[6]  optional: '1' adds `after` to the answer (at: the next due time, pulls: offers
--          not yet acted on, settled: whether this call settled, states: whether it wrote an
--          agent's state), for the simulator's ticker and occupancy meter
-- Returns a JSON object: offers = offers to act on, plus the operation's own answer
-- (placement / status / offer / snapshot).

local op, now = ARGV[1], tonumber(ARGV[2])
local now_str = digits(now)  -- numbers go to redis.call as digits (record_lib.lua's `digits`)
local arg = cjson.decode(ARGV[3])
local IV, IV_EXPIRE = ARGV[4], digits(tonumber(ARGV[5]))
local AGENTS, ASTATE, CALLS, EXPIRY, WRAP = K.agents, K.agent_states, K.calls, K.call_expiry,
  K.wrap_up
local STAFFED, PULLS, RETRY, FAILED, EWT = K.staffed, K.pulls, K.callback_retry,
  K.callback_failed, K.ewt
local HEARD, VISITING, OPEN = K.heard, K.visiting, K.open_lines

-- queues by name; the configured dialects and skills (name -> index)
local Q, DIALECTS, SKILLS = {}, cfg.dialects, cfg.skills
for _, q in ipairs(cfg.queues) do Q[q.name] = q end
local BUCKETS = cfg.buckets             -- a queue's waiting buckets: each dialect, then other
local STAFFED_STATES = {available = true, offered = true, on_call = true, wrap_up = true}
local MISSED = {busy = true, ['no-answer'] = true, failed = true, canceled = true}
-- A call-back that did not reach the senior: the statuses above, or a machine that answered.
local UNREACHED = {busy = true, ['no-answer'] = true, failed = true, canceled = true,
                   machine = true}
local FINAL = {completed = true, busy = true, ['no-answer'] = true, failed = true,
               canceled = true}

local made = {}
local SETTLED = false  -- this call has settled (what a tick at this instant would do is done)
local STATES_WRITTEN = false  -- this call wrote an agent's state (F.put_state)

-- Redis 6.2 runs this whole script at every call: every function below is made anew each time
-- (a closure), and making one costs Lua 5.1 a walk of the list of open upvalues for each local
-- of this chunk it uses (luaF_findupval). So the functions are fields of F and OPS, not local
-- functions (~70 of them, which every later one would find that way), and they are made inside
-- define(), whose upvalues the locals above are: a closure made there copies them instead.
-- Together ~40 µs a call (BENCHMARKS.md, section 6). routing_script.py makes F and OPS with a slot for
-- each function (RoutingLua._parts), so that filling them does not grow them.
local F, OPS = {}, {}

