"""The one place that names Redis keys.

Every key starts with the configured prefix. Keys that a Lua script touches together carry
the same `{hash tag}` so they live on one Redis Cluster slot: the routing script records the
statistics of its decisions itself, so the statistics keys carry the routing tag too.
<interval> is the local start YYYYMMDDTHHMM.

| key                                   | type   | owner            | lifetime                  |
|---------------------------------------|--------|------------------|---------------------------|
| `{p}:meta`                            | hash   | app, migrate.py  | forever (key moves done)  |
| `{p}:ticker`                          | string | ivr ticker       | 60 s (last beat, ms)      |
| `{p}:ahcb`                            | zset   | callbacks.py     | until queued (sid -> ms), |
|                                       |        | privacy.py trims | privacy.callback_days     |
| `{p}:ahcb:<call_sid>`                 | string | callbacks.py     | privacy.callback_days     |
|                                       |        |                  | (caller as JSON)          |
| `{p}:complaints:recorded`             | list   | complaints.py    | newest 10,000 (JSON each) |
| `{p}:complaints:seen:<recording_sid>` | string | complaints.py    | 8 days (replays dropped)  |
| `{<p>:rt}:st:call:<call_sid>`         | hash   | record_lib (Lua) | 8 days (dedupe + outcome) |
| `{<p>:rt}:st:iv:<queue>:<interval>`   | hash   | record_lib (Lua) | retention_days (interval) |
| `{<p>:rt}:st:day:<queue>:<YYYYMMDD>`  | hash   | record_lib (Lua) | retention_days (day)      |
| `{<p>:rt}:st:total:<queue>`           | hash   | record_lib (Lua) | forever (counters)        |
| `{<p>:rt}:st:events`                  | stream | record_lib (Lua) | capped at stream_maxlen   |
|                                       |        | and wrapup.lua   | (wrap_up events too);     |
|                                       |        | privacy.py trims | privacy.event_days        |
| `{<p>:rt}:st:agent:<interval>`        | hash   | record_lib (Lua) | retention_days (interval) |
| `{<p>:rt}:st:dialect:<interval>`      | hash   | record_lib (Lua) | retention_days (interval) |
| `{<p>:rt}:st:wu:<queue>:<interval>`   | hash   | wrapup.lua       | retention_days (interval) |
| `{<p>:rt}:st:wuday:<YYYYMMDD>`        | hash   | wrapup.lua       | retention_days (per agent)|
| `{p}:softphones`                      | hash   | softphones.py    | until removed (id -> JSON:|
|                                       |        |                  | registered, kept away,    |
|                                       |        |                  | last report ms)           |
| `{p}:demophone:<agent>`               | hash   | web/demo_phone.py| 30 s after the console's  |
|                                       |        |                  | last heartbeat            |
| `{p}:session:<id>`                    | string | sessions.py      | 12 h, or until signed out |
|                                       |        |                  | (the user's name)         |
| `{p}:users`                           | set    | users.py         | forever (user names)      |
| `{p}:user:<name>`                     | hash   | users.py         | until removed             |
| `{<p>:lg}:n:<name>:<address>`         | zset   | users.py         | 15 min (sign-in attempts  |
| `{<p>:lg}:a:<address>`                |        |                  | not yet known good, per   |
| `{<p>:lg}:all`                        |        |                  | name+address, address, all|
| `{<p>:lg}:noted`                      | string | users.py         | 15 min (throttling noted) |
| `{p}:dir:<last 4 digits>`             | hash   | directory.py     | until deleted (customers) |
| `{<p>:rt}:agents`                     | hash   | agents.py        | until removed (id -> JSON)|
| `{<p>:rt}:agent_states`               | hash   | router (Lua)     | until removed (id -> JSON)|
| `{<p>:rt}:calls`                      | hash   | router (Lua)     | privacy.call_record_hours |
|                                       |        |                  | via call_expiry (def. 1 d)|
| `{<p>:rt}:call_expiry`                | zset   | router (Lua)     | sid -> expiry ms; pruned  |
| `{<p>:rt}:heard`                      | zset   | router (Lua)     | live calls: sid -> ms last|
|                                       |        |                  | heard of; until they end  |
| `{<p>:rt}:wrap_up`                    | zset   | router (Lua)     | agent -> wrap-up end ms   |
| `{<p>:rt}:open_lines`                 | zset   | router (Lua)     | agent -> ms their open    |
|                                       |        |                  | line connected; until it  |
|                                       |        |                  | drops (docs/time-to-human)|
| `{<p>:rt}:staffed`                    | hash   | router (Lua)     | per skill, dialect: count|
| `{<p>:rt}:pulls`                      | zset   | router (Lua)     | new offers until acted on |
| `{<p>:rt}:callback_retry`             | zset   | router (Lua)     | sid -> retry due ms       |
| `{<p>:rt}:callback_failed`            | zset   | router (Lua)     | sid -> ms given up        |
| `{<p>:rt}:visiting`                   | set    | router (Lua)     | return visits not over    |
|                                       |        |                  | (sids; dropped when over) |
| `{<p>:rt}:ewt`                        | hash   | router (Lua)     | forever (moving averages) |
| `{<p>:rt}:wait:<queue>[:<part>]`      | zset   | router (Lua)     | sid -> entry ms, waiting  |
| `{<p>:rt}:avail:<skill>[:<dialect>]`  | zset   | router (Lua)     | agent -> idle-since ms    |
| `{<p>:rt}:forced`                     | list   | router (Lua)     | newest 1000, retention_days |
| `{<p>:cp}:campaigns`                   | hash   | campaigns.py     | until removed (name->JSON)|
| `{<p>:cp}:campaign:<name>`            | hash   | campaigns.py     | with the campaign         |
|                                       |        |                  | (number -> JSON)          |
| `{<p>:cp}:do_not_call`                | set    | campaigns.py     | forever (numbers)         |
| `{<p>:al}:active`                     | hash   | alerts.lua       | while the alert holds     |
|                                       |        |                  | (id -> JSON)              |
| `{<p>:al}:outbox`                     | zset   | alerts.lua,      | until delivered or out of |
|                                       |        | alerts.py        | attempts (JSON -> due ms) |
| `{p}:audit:<YYYYMMDD>`                | list   | audit.py         | privacy.audit_days after  |
|                                       |        |                  | the (UTC) day (JSON each) |

Directory buckets: field = the E.164 digits before the last four, value = the customer record
(see directory.py). Each bucket holds ~n/10,000 customers as one small listpack; that needs
`hash-max-listpack-entries 1024` and `hash-max-listpack-value 128` (older name:
`hash-max-ziplist-*`), which the embedded server sets. An external Redis needs the same two
settings, or the buckets fall back to hashtables at about twice the memory per customer.

Modules add their keys here as functions, with a row in this table.
"""

from __future__ import annotations


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str = "sl") -> None:
        self.prefix = prefix

    def meta(self) -> str:
        """Hash of facts about the store itself (which key moves of routing/migrate.py are done)."""
        return f"{self.prefix}:meta"

    def ticker(self) -> str:
        """When a server's ticker last beat (ms): `silverline doctor` reads it."""
        return f"{self.prefix}:ticker"

    def after_hours_callbacks(self) -> str:
        """Out-of-hours call-back requests waiting for opening time, scored by request time."""
        return f"{self.prefix}:ahcb"

    def after_hours_callback(self, call_sid: str) -> str:
        """One out-of-hours call-back request (JSON of the caller)."""
        return f"{self.prefix}:ahcb:{call_sid}"

    def recorded_complaints(self) -> str:
        """Complaints recorded out of complaint hours, newest first (JSON each; capped)."""
        return f"{self.prefix}:complaints:recorded"

    def recorded_complaint_seen(self, recording_sid: str) -> str:
        """Set once a recording is in the box: a replayed report of it adds nothing."""
        return f"{self.prefix}:complaints:seen:{recording_sid}"

    def directory_bucket(self, suffix: str) -> str:
        """One bucket of customer records: the numbers ending in `suffix` (four digits)."""
        return f"{self.prefix}:dir:{suffix}"

    def stats_prefix(self) -> str:
        """What every statistics key begins with; route.lua names its stats keys from it.

        The statistics keys share the routing keys' hash tag: the routing script records the
        events of each decision in the same atomic call, so on a Redis Cluster they must all
        live on one slot.
        """
        return f"{self._routing()}:st"

    def stats_call(self, call_sid: str) -> str:
        """One call's recorded events (dedupe fields) and its counted outcome."""
        return f"{self.stats_prefix()}:call:{call_sid}"

    def stats_interval(self, queue: str, interval: str) -> str:
        """Aggregates of one queue in one interval (local start time, YYYYMMDDTHHMM)."""
        return f"{self.stats_prefix()}:iv:{queue}:{interval}"

    def stats_day(self, queue: str, day: str) -> str:
        """Aggregates of one queue on one local day (YYYYMMDD)."""
        return f"{self.stats_prefix()}:day:{queue}:{day}"

    def stats_total(self, queue: str) -> str:
        """All-time counters of one queue (Prometheus counters read them)."""
        return f"{self.stats_prefix()}:total:{queue}"

    def stats_events(self) -> str:
        """The capped audit stream of every recorded event."""
        return f"{self.stats_prefix()}:events"

    def stats_agents(self, interval: str) -> str:
        """Per-agent figures of one interval: "<agent>:<figure>" -> n (team_stats.py)."""
        return f"{self.stats_prefix()}:agent:{interval}"

    def stats_dialects(self, interval: str) -> str:
        """Per-dialect figures of one interval: "<dialect>:<figure>" -> n (team_stats.py)."""
        return f"{self.stats_prefix()}:dialect:{interval}"

    def stats_wrap_up(self, queue: str, interval: str) -> str:
        """Wrap-up codes given after a queue's calls in one interval: "<class>:<code>" -> n."""
        return f"{self.stats_prefix()}:wu:{queue}:{interval}"

    def stats_wrap_up_day(self, day: str) -> str:
        """Wrap-up codes per agent on one local day (YYYYMMDD): "<agent>:<code>" -> n."""
        return f"{self.stats_prefix()}:wuday:{day}"

    def stats_formats(self) -> dict[str, str]:
        """The statistics keys record_lib.lua writes, as Lua `string.format` patterns (one `%s`
        a part), made by the methods above: the names keep one owner, this table."""
        hole = "\x00"

        def pattern(name: str) -> str:
            return name.replace("%", "%%").replace(hole, "%s")

        return {
            "call": pattern(self.stats_call(hole)),
            "iv": pattern(self.stats_interval(hole, hole)),
            "day": pattern(self.stats_day(hole, hole)),
            "total": pattern(self.stats_total(hole)),
            "events": pattern(self.stats_events()),
            "agent": pattern(self.stats_agents(hole)),
            "dialect": pattern(self.stats_dialects(hole)),
        }

    def demo_phone(self, agent_id: str) -> str:
        """An agent's demo phone in the console (no Twilio account): "on", the last button.

        The console sets "on" every few seconds with a short expiry, so the offline Twilio
        knows a person is at the page and waits for their click (ivr/web/demo_phone.py).
        """
        return f"{self.prefix}:demophone:{agent_id}"

    def softphones(self) -> str:
        """Each reporting agent's softphone: registered, and whether it keeps them away."""
        return f"{self.prefix}:softphones"

    def session(self, session_id: str) -> str:
        """One signed-in session: the user's name, deleted when they sign out."""
        return f"{self.prefix}:session:{session_id}"

    def users(self) -> str:
        """Set of every user name that can sign in to the pages."""
        return f"{self.prefix}:users"

    def user(self, name: str) -> str:
        """One user: role, agent id, werkzeug password hash."""
        return f"{self.prefix}:user:{name}"

    def login_failures(self, name: str, address: str) -> str:
        """Sign-in attempts of one user name from one address (a sliding 15-minute window).

        The sign-in keys share the `lg` hash tag: one transaction reserves an attempt in all.
        """
        return f"{self._login()}:n:{name}:{address}"

    def login_failures_from(self, address: str) -> str:
        """Sign-in attempts from one address, whatever the name."""
        return f"{self._login()}:a:{address}"

    def login_failures_all(self) -> str:
        """Sign-in attempts from everywhere."""
        return f"{self._login()}:all"

    def login_throttle_noted(self) -> str:
        """Set while a throttled sign-in is in the audit trail for this window."""
        return f"{self._login()}:noted"

    def _login(self) -> str:
        return "{" + self.prefix + ":lg}"

    def campaigns(self) -> str:
        """Return-visit campaigns: name -> JSON (campaigns.py)."""
        return f"{self._campaign_tag()}:campaigns"

    def campaign_targets(self, name: str) -> str:
        """One campaign's customers: E.164 number -> JSON (outcome, attempts, log)."""
        return f"{self._campaign_tag()}:campaign:{name}"

    def do_not_call(self) -> str:
        """Numbers no campaign may dial again (the customer asked)."""
        return f"{self._campaign_tag()}:do_not_call"

    def _campaign_tag(self) -> str:
        # A campaign is made in one transaction with its list: one slot on a Redis Cluster.
        return f"{{{self.prefix}:cp}}"

    def alerts_active(self) -> str:
        """The alerts holding now (alerts.py): id -> JSON of the alert."""
        return f"{{{self.prefix}:al}}:active"

    def alerts_outbox(self) -> str:
        """Alert notices to post to the webhook: JSON -> when the next attempt is due (ms)."""
        return f"{{{self.prefix}:al}}:outbox"

    def _routing(self) -> str:
        # One hash tag for every routing key: the assignment script reads and writes agents,
        # calls and queues together in one atomic call.
        return f"{{{self.prefix}:rt}}"

    def routing_agents(self) -> str:
        """Agent profiles: id -> JSON (name, contact, skills, dialects)."""
        return f"{self._routing()}:agents"

    def routing_agent_states(self) -> str:
        """Agent states: id -> JSON (state, since, call, missed offers, idle since)."""
        return f"{self._routing()}:agent_states"

    def routing_calls(self) -> str:
        """Per-call records of routed callers: call sid -> JSON."""
        return f"{self._routing()}:calls"

    def routing_call_expiry(self) -> str:
        """When each call record expires (ms); the script prunes due ones."""
        return f"{self._routing()}:call_expiry"

    def routing_heard(self) -> str:
        """Live calls (waiting, offered, on call) by when last heard of or looked up (ms).

        The ticker asks Twilio about those silent for `routing.reconcile_after` (route.lua
        OPS.stale): a call whose end report was lost must not hold its agent for ever.
        """
        return f"{self._routing()}:heard"

    def routing_wrap_up(self) -> str:
        """Agents in wrap-up, scored by the time (ms) it ends."""
        return f"{self._routing()}:wrap_up"

    def routing_open_lines(self) -> str:
        """Agents whose open line is connected (their leg waits in their own room), scored by
        when it connected (ms): who a senior is offered first, and the open-line minutes."""
        return f"{self._routing()}:open_lines"

    def routing_staffed(self) -> str:
        """Staffed agents counted per "skill|" and "skill|dialect" ("*" = any skill)."""
        return f"{self._routing()}:staffed"

    def routing_pulls(self) -> str:
        """Offers made that the call flow has not yet acted on, scored by time (ms)."""
        return f"{self._routing()}:pulls"

    def routing_callback_retry(self) -> str:
        """Call-backs that failed and wait for their retry time (ms)."""
        return f"{self._routing()}:callback_retry"

    def routing_callback_failed(self) -> str:
        """Call-backs given up after the configured attempts, scored by time (ms)."""
        return f"{self._routing()}:callback_failed"

    def routing_visiting(self) -> str:
        """Return visits (docs/campaigns.md) that may hold an agent: what the campaigns'
        agent share (campaigns.agent_share) is counted from. A visit is dropped from the set
        by route.lua when it is found over, whichever way it ended."""
        return f"{self._routing()}:visiting"

    def routing_ewt(self) -> str:
        """Moving averages per queue that estimated waits are computed from."""
        return f"{self._routing()}:ewt"

    def routing_waiting(self, queue: str, part: str = "") -> str:
        """Waiting callers of a queue (all, "sr" seniors, or one dialect), scored by entry ms."""
        suffix = f":{part}" if part else ""
        return f"{self._routing()}:wait:{queue}{suffix}"

    def routing_available(self, skill: str, dialect: str = "") -> str:
        """Available agents with a skill ("*" = any), optionally speaking a dialect, by idle ms."""
        suffix = f":{dialect}" if dialect else ""
        return f"{self._routing()}:avail:{skill}{suffix}"

    def routing_forced(self) -> str:
        """Supervisors' forced agent state changes, newest first (JSON: who, when, what).

        An audit trail, so it is bounded twice: the newest entries only (routing_script.py's
        FORCED_KEEP) and none older than the statistics' retention, which they explain.
        """
        return f"{self._routing()}:forced"

    def audit_day(self, day: str) -> str:
        """The audit trail of one UTC day (YYYYMMDD): JSON entries, oldest first.

        One list per day so that Redis itself expires the trail `privacy.audit_days` after
        each day; no hash tag: every command touches one key.
        """
        return f"{self.prefix}:audit:{day}"
