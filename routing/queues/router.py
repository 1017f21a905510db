"""Who gets which caller: queue entry, assignment to agents, re-routing and call-backs.

Each method is one atomic call of the routing script (routing_script.py): it applies the event,
then assigns waiting callers (queue priority, then original entry time) to free agents (skill,
dialect, then longest idle) until no free agent may take any waiting caller. Offers the
script makes are returned so the call flow can act on them; offers made inside a call whose
answer has no room for them wait in a list that `tick` and `poll` hand out.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from redis.exceptions import RedisError

from routing.callers.caller import Caller
from routing.clock import epoch_ms
from routing.exceptions import StoreUnavailable
from routing.queues.agents import (
    SETTABLE_STATES,
    Agent,
    Agents,
    AgentStatus,
    agent_from,
    profile_json,
    status_from,
)
from routing.queues.ewt import estimate
from routing.queues.routing_script import RoutingScript

FORCED_VIA = ("web", "cli")
MAX_BY = 64  # a user name or an OS login fits; the audit list stays small


@dataclass(frozen=True, kw_only=True)
class Routed:
    """What an offer and a call's record both say of a routed caller (the script's `call`)."""

    call_sid: str
    queue: str
    senior: bool
    caller_name: str
    caller_number: str | None
    caller_age: int | None
    caller_dialect: str
    entered_at: datetime  # original entry time, kept across re-routes
    callback: bool  # True: a call-back entry
    leg: str = ""  # the call-back leg the senior is on now; "": none (place the call-back)
    in_room: bool = False  # the caller waits in the call's own conference (ivr/call/connect.py)
    agent_leg: str = ""  # the agent's leg placed for this offer through REST, if any
    # "placing": a request has claimed the agent's leg and its create has not come back (or
    # failed and the claim was given back: ""); "dial": the caller is <Dial>ed instead
    leg_claim: str = ""
    campaign: str = ""  # a return visit's campaign (docs/campaigns.md); "": not a visit
    reason: str = ""  # why a return visit calls, shown to the agent first
    # the agent's open line the caller is given through (docs/time-to-human.md, "Open
    # lines"): its CallSid and its room's ConferenceSid; "": rung the usual way
    open_leg: str = ""
    open_room: str = ""


@dataclass(frozen=True, kw_only=True)
class Offer(Routed):
    """A caller assigned to an agent."""

    agent: Agent
    leg_claimed: bool = False  # the agent's leg is this holder's to place (Router.arrive)

    @property
    def to_place(self) -> bool:
        """A call-back nobody is on the line for: ivr must place the outbound call."""
        return self.callback and not self.leg

    @property
    def line_sid(self) -> str:
        """The CallSid of the leg the caller is on: the call-back leg, else the call itself."""
        return self.leg or self.call_sid


@dataclass(frozen=True)
class Queued:
    call_sid: str
    queue: str
    position: int  # 1-based among callers this caller competes with
    ewt_s: int  # estimated wait, seconds


Placement = Offer | Queued


@dataclass(frozen=True)
class Visit:
    """The answer to a return visit's reservation (Router.visit)."""

    offer: Offer | None  # the visit, its agent reserved; None: not now
    why: str  # "" when reserved; "share", "no_agent" or "exists" when not
    offers: list[Offer]  # every offer to act on (the visit's among them)


@dataclass(frozen=True)
class WaitStatus:
    offer: Offer | None  # this caller has been assigned: ivr answers <Leave/>
    position: int
    ewt_s: int
    waited_s: int
    announce: bool  # time to speak position/EWT again (routing.announce_every)
    offer_callback: bool  # senior who has waited >= routing.callback_offer_after
    pulls: list[Offer]  # OTHER callers just assigned: ivr pulls them out via REST
    first: bool = False  # the caller's first poll: nothing said to them in the queue yet
    call: CallInfo | None = None  # the caller's record after the poll (None: no record)


@dataclass(frozen=True)
class LegClaim:
    """The answer to a claim on an offer's agent leg (Router.claim_leg)."""

    outcome: str  # "claimed": place it; "taken": another has; "none": no such offer
    in_room: bool  # the caller waits in their room (ivr/call/connect.py)
    dialled: bool = False  # the claim is a <Dial>'s: no leg will be placed for this offer


@dataclass(frozen=True)
class LineChange:
    """What an open line's end changed (Router.open_line)."""

    offers: list[Offer]  # new offers to act on
    # the line of a caller who was on their way to the dropped line's room: the call flow
    # sends it to /voice/connect (their new agent, or their place in line); "": none
    moved: str = ""
    # a leg placed through REST after the agent's softphone connected the line: to end
    close: str = ""
    accepted: bool = False  # "dialled": the softphone's leg is now the agent's line


@dataclass(frozen=True)
class Lines:
    """Open lines to place and to close (Router.lines)."""

    to_open: list[Agent]  # persistent agents signed in without one (each claimed for 30 s)
    to_close: list[str]  # the legs of agents signed out or no longer persistent


@dataclass(frozen=True, kw_only=True)
class CallInfo(Routed):
    """A routed call's record."""

    # waiting, offered, on_call, done, gone (abandoned), retry, failed, unreported (closed
    # with no report of its end: routing.max_call_seconds)
    state: str
    agent_id: str
    callback_attempts: int
    queue_sid: str
    answered_at: datetime | None = None  # when an agent picked up; None before that


@dataclass(frozen=True)
class ForcedChange:
    """A supervisor's forced state change, as the audit list keeps it."""

    at: datetime
    by: str  # the supervisor's user name, or the OS user of the command line
    via: str  # "web" (dashboard, API) or "cli"
    agent_id: str
    from_state: str
    to_state: str
    call_sid: str  # the call the agent was held by, "" when none
    ended: str  # "offer" (caller back in line), "call" (completed) or "" (nothing live)
    # the agent's leg placed for the offer it ended, "" if none: the call flow ends it (not
    # kept in the audit list)
    leg: str = ""
    # the caller's line when the offer ended was a classic <Dial> that may still ring the
    # agent: the call flow takes the line out of it (not kept in the audit list either)
    line: str = ""

    def as_dict(self) -> dict[str, str]:
        """The change for JSON."""
        return {
            "at": self.at.isoformat(),
            "by": self.by,
            "via": self.via,
            "agent_id": self.agent_id,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "call_sid": self.call_sid,
            "ended": self.ended,
        }


@dataclass(frozen=True)
class StaleCall:
    """A live call nothing has been heard of for `routing.reconcile_after`, claimed to look up."""

    call_sid: str
    callback: bool  # a call-back entry: its sid is not the call-back's call, nothing to fetch


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    waiting: int
    oldest: datetime | None
    seniors_waiting: int
    seniors_oldest: datetime | None


@dataclass(frozen=True)
class QueueSnapshot:
    at: datetime
    queues: dict[str, QueueFigures]
    agents: dict[str, AgentStatus]
    callbacks_retrying: int
    callbacks_failed: int
    agents_by_state: dict[str, int] = field(default_factory=dict)


class Router:
    """The routing engine's entry points; every one is safe to repeat (Twilio retries)."""

    def __init__(self, agents: Agents, script: RoutingScript) -> None:
        """Route with `script` on the store, clock and settings of `agents`, whose states
        every decision changes."""
        self.redis = agents.redis
        self.clock = agents.clock
        self.settings = agents.settings
        self.keys = agents.keys
        self.agents = agents
        self.script = script

    def arrive(
        self,
        call_sid: str,
        caller: Caller,
        queue: str,
        started: datetime | None = None,
        entered: datetime | None = None,
        claim: bool = False,
    ) -> Placement:
        """Enter a caller in `queue` (a repeat returns the current placement, records nothing).

        `started`: the call's first webhook, where the time to a human starts (default now).
        `entered`: the place in line (default now): a call-back booked for a caller who hung up
        keeps the time they first entered, as call-backs requested while waiting do.
        `claim`: an offer's agent leg is claimed in the same call (`claim_leg`), and the
        offer says whether it was (`leg_claimed`).
        """
        if queue not in self.script.rule:
            raise KeyError(f"unknown queue {queue!r}")
        args = {"sid": call_sid, "q": queue, **_caller_json(caller)}
        if started is not None:
            args["t0"] = epoch_ms(started)
        if entered is not None:
            args["e"] = epoch_ms(entered)
        if claim:
            args["claim"] = 1
        out = self._run("arrive", args)
        placement = self._placement(call_sid, out["placement"])
        if placement is None:  # the call is over; tell the caller where they were
            return Queued(call_sid, queue, 0, 0)
        if isinstance(placement, Offer) and (out.get("claim") or {}).get("ok") == 1:
            return dataclasses.replace(placement, leg_claimed=True)
        return placement

    def poll(self, call_sid: str, queue_sid: str = "") -> WaitStatus:
        """Answer one wait-URL request: assigned yet, position, wait, what to say."""
        out = self._run("poll", {"sid": call_sid, "qs": queue_sid})
        pulls = _offers(out.get("offers"))
        offer = _offer(out["offer"]) if out.get("offer") else None
        fig = out.get("fig") or {}
        pos = int(fig.get("pos", 0))
        return WaitStatus(
            offer=offer,
            position=pos,
            ewt_s=self._ewt(fig) if fig else 0,
            waited_s=int(fig.get("waited", 0)) // 1000,
            announce=bool(out.get("announce")),
            offer_callback=bool(out.get("cb_offer")),
            pulls=pulls,
            first=bool(out.get("first")),
            call=_info(call_sid, out["call"]) if out.get("call") else None,
        )

    def answered(self, call_sid: str, agent_id: str) -> Offer | None:
        """The agent picked up: the call is theirs; None if the offer is no longer valid."""
        out = self._run("answered", {"sid": call_sid, "agent": agent_id})
        return _offer(out["offer"]) if out.get("offer") else None

    def dial_result(
        self, call_sid: str, agent_id: str, status: str, duration_s: int
    ) -> Placement | None:
        """The <Dial> ended: completed -> None; missed -> the caller's new placement."""
        args = {"sid": call_sid, "agent": agent_id, "status": status, "dur": duration_s}
        out = self._run("dial_result", args)
        return self._placement(call_sid, out["placement"])

    def dial_result_tick(
        self,
        call_sid: str,
        agent_id: str,
        status: str,
        duration_s: int,
        leg: str = "",
        *,
        strict: bool = False,
    ) -> tuple[Placement | None, list[Offer]]:
        """`dial_result()` and `tick()` after it, in one round trip (the result settled).

        `leg`: the agent's leg the result is about (the conference path's); a result about a
        leg other than the offer's own is a late report and changes nothing. `strict`: the
        agent's answer is reported by a webhook (`answered`), so `completed` without it is a
        miss."""
        args = {
            "sid": call_sid,
            "agent": agent_id,
            "status": status,
            "dur": duration_s,
            "tick": 1,
            "leg": leg,
            "strict": int(strict),
        }
        out = self._run("dial_result", args)
        return self._placement(call_sid, out["placement"]), _offers(out.get("offers"))

    def connected(self, call_sid: str, agent_id: str) -> None:
        """The caller is bridged to `agent_id` and hears them: records the time to a human."""
        self._run("connected", {"sid": call_sid, "agent": agent_id})

    def room_event(self, call_sid: str, what: str) -> None:
        """The caller's conference: "start" (the agent arrived), "caller" (they joined) or
        "both" (it started with them in it)."""
        self._run("room_event", {"sid": call_sid, "what": what})

    def hangup(self, call_sid: str) -> str:
        """The caller is gone: abandoned if they never reached an agent.

        Returns the CallSid of the agent's leg placed for them ("" if none): the call flow
        ends it, whether it still rings or was answered into the room the caller has left.
        """
        return str(self._run("hangup", {"sid": call_sid}).get("cancel") or "")

    def hangup_tick(self, call_sid: str) -> tuple[str, list[Offer]]:
        """`hangup()` and `tick()` after it, in one round trip (the hang-up already settled)."""
        out = self._run("hangup", {"sid": call_sid, "tick": 1})
        return str(out.get("cancel") or ""), _offers(out.get("offers"))

    def agent_leg(self, call_sid: str, agent_id: str, leg_sid: str, room: bool) -> bool:
        """The agent's leg for this offer was placed (`room`: the caller waits in a conference).
        False: not recorded, an orphan to end (the offer is over, or the caller was <Dial>ed
        meanwhile: `dial_instead`)."""
        args = {"sid": call_sid, "agent": agent_id, "leg": leg_sid, "room": 1 if room else 0}
        return int(self._run("agent_leg", args).get("ok") or 0) == 1

    def dial_instead(self, call_sid: str, agent_id: str, force: bool = False) -> str:
        """Connect this offer's caller by <Dial> rather than in their room: "dial" (recorded: a
        leg whose create is still out is an orphan when it comes back), "room" (a leg was placed
        already), "placing" (a create is out, and not `force`d) or "none" (no such offer)."""
        args = {"sid": call_sid, "agent": agent_id, "force": 1 if force else 0}
        out = self._run("dial_instead", args)
        return {1: "dial", 0: "room", 2: "placing"}.get(int(out["ok"]), "none")

    def ring_later(self, call_sid: str, agent_id: str) -> None:
        """The agent's leg for this offer could not be placed: hand the offer out again at the
        next tick, the agent still reserved for the caller (who waits in their room)."""
        self._run("ring_later", {"sid": call_sid, "agent": agent_id})

    def claim_leg(
        self, call_sid: str, agent_id: str, room: bool = False, *, dial: bool = False
    ) -> LegClaim:
        """Claim the placing of the agent's leg for this offer: one leg per offer.

        `room`: if another has it, the claimant puts the caller in their room (recorded).
        `dial`: the claimant <Dial>s the agent instead of placing a leg (the classic path).
        """
        args = {"sid": call_sid, "agent": agent_id, "room": 1 if room else 0}
        if dial:
            args["dial"] = 1
        out = self._run("claim_leg", args)
        outcome = {1: "claimed", 0: "taken"}.get(int(out["ok"]), "none")
        return LegClaim(outcome, out.get("rm") == 1, out.get("dl") == 1)

    def entered_room(self, call_sid: str, agent_id: str, leg_sid: str) -> None:
        """The caller of this offer, whose agent's leg `leg_sid` is placed, is sent into their
        room: the next agent is rung to it if this one misses (`agent_leg` again, with the
        room)."""
        self.agent_leg(call_sid, agent_id, leg_sid, room=True)

    def leg_failed(self, call_sid: str, agent_id: str) -> bool:
        """The claimed leg could not be placed: give the claim back. True if the caller waits
        in their room, in which case the offer is handed out again at the next tick."""
        out = self._run("leg_failed", {"sid": call_sid, "agent": agent_id})
        return out.get("rm") == 1

    def open_line(self, agent_id: str, event: str, leg_sid: str = "") -> LineChange:
        """The agent's open line: "placed" as `leg_sid` through REST, "device" (their
        softphone is connecting it), "dialled" as `leg_sid` by their softphone, "failed" to
        place, or "down" (the leg `leg_sid` ended; a caller on their way to it is sent on)."""
        if event not in ("placed", "device", "dialled", "failed", "down"):
            raise ValueError(
                f"an open line is placed, device, dialled, failed or down, not {event!r}"
            )
        out = self._run("open_line", {"id": agent_id, "ev": event, "leg": leg_sid})
        return LineChange(
            _offers(out.get("offers")),
            str(out.get("moved") or ""),
            close=str(out.get("close") or ""),
            accepted=out.get("ok") == 1,
        )

    def open_room(
        self, agent_id: str, event: str, leg_sid: str, room_sid: str = "", announced: bool = True
    ) -> tuple[list[Offer], str]:
        """An event of the agent's room: "join" of `leg_sid` (their line, or their caller) or
        "announced" (the caller's announcement to the agent ended). `announced` False: no
        announcement is made, the caller's join connects them. Returns new offers, and the leg
        to hang up ("": none): a line that connected after its agent signed out."""
        args = {"id": agent_id, "ev": event, "leg": leg_sid, "conf": room_sid}
        out = self._run("open_room", {**args, "ann": 1 if announced else 0})
        return _offers(out.get("offers")), str(out.get("close") or "")

    def lines(self) -> Lines:
        """The open lines to place (claimed) and to close."""
        out = self._run("lines", {})
        return Lines([agent_from(p) for p in out.get("open") or []], list(out.get("close") or []))

    def callback_answered(self, call_sid: str, leg_sid: str) -> None:
        """The senior answered the call-back placed for `call_sid`, on the new call `leg_sid`."""
        self._run("callback_answered", {"sid": call_sid, "leg": leg_sid})

    def queue_full(self, call_sid: str) -> tuple[str, Placement | None]:
        """Twilio found the caller's queue full: routed as the queue overflows. Returns the
        overflow's kind ("queue", "line", "callback"; "" without one, the caller then being out
        of routing as on any queue error) and the caller's placement ("queue": where to now)."""
        out = self._run("queue_full", {"sid": call_sid})
        placement = out.get("placement") or {"kind": "none"}
        return str(out.get("kind") or ""), self._placement(call_sid, placement)

    def visit(
        self, call_sid: str, caller: Caller, queue: str, campaign: str, reason: str, name: str = ""
    ) -> Visit:
        """Reserve an idle agent for a return visit to `caller` (progressive dialling).

        Atomic with the check that inbound callers need no agent it could take and that the
        campaigns' share of agents is not used up (route.lua OPS.visit). `call_sid` names the
        visit's routing record; a repeat reserves nothing (why "exists"). `name`: the
        customer's name from the campaign's list, shown when the directory has none.
        """
        if queue not in self.script.rule:
            raise KeyError(f"unknown queue {queue!r}")
        args = {"sid": call_sid, "q": queue, **_caller_json(caller), "cv": campaign}
        args["nm"] = caller.name or name  # the campaign list's name when the directory has none
        out = self._run("visit", {**args, "rs": reason})
        offers = _offers(out.get("offers"))
        mine = next((o for o in offers if o.call_sid == call_sid), None)
        return Visit(mine, str(out.get("why") or ""), offers)

    def anyone_idle(self) -> bool:
        """Whether any agent is available now (one cheap read; decisions are the script's)."""
        try:
            return bool(self.redis.zcard(self.keys.routing_available("*")))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc

    def left_queue(self, call_sid: str) -> None:
        """Twilio put the caller out of its queue by an error: routing must forget them."""
        self._run("left_queue", {"sid": call_sid})

    def request_callback(self, call_sid: str) -> None:
        """Call this waiting caller back when their turn comes; they keep their place."""
        self._run("callback", {"sid": call_sid})

    def callback_result(self, call_sid: str, status: str) -> list[Offer]:
        """The outbound call-back's outcome; a failed one is retried after a pause."""
        out = self._run("callback_result", {"sid": call_sid, "status": status})
        return _offers(out.get("offers"))

    def set_agent_state(self, agent_id: str, state: str) -> list[Offer]:
        """Sign an agent in (available), out (offline) or away; busy agents leave after the call."""
        if state not in ("available", "away", "offline"):
            raise ValueError(f"agent state must be available, away or offline, not {state!r}")
        out = self._run("agent_state", {"id": agent_id, "state": state})
        return _offers(out.get("offers"))

    def force_agent_state(
        self, agent_id: str, state: str, by: str, via: str
    ) -> tuple[ForcedChange, list[Offer]]:
        """Put an agent in `state` now, ending a stale offer or call; recorded as by `by`.

        For an agent whose call's end was never reported: an offered caller goes back to
        their place in line (no miss counted), a call in progress is completed (counted
        once) and the agent goes straight to `state`, not to wrap-up. The change's `leg` is
        the agent's leg placed for an offer it ended: the caller must end it; its `line`, the
        caller's line still in a classic <Dial> ringing the agent: the caller must take it out.
        """
        if state not in SETTABLE_STATES:
            raise ValueError(f"agent state must be available, away or offline, not {state!r}")
        if via not in FORCED_VIA:
            raise ValueError(f"a forced change comes via web or cli, not {via!r}")
        who = by.strip()
        if not who or len(who) > MAX_BY or not who.isprintable():
            raise ValueError(f"who forces a change must be a name of 1-{MAX_BY} characters")
        args = {"id": agent_id, "state": state, "by": who, "via": via}
        out = self._run("force_state", args)
        change = dataclasses.replace(
            _forced(out["change"]),
            leg=str(out.get("cancel") or ""),
            line=str(out.get("line") or ""),
        )
        return change, _offers(out.get("offers"))

    def forced_changes(self, limit: int = 50) -> list[ForcedChange]:
        """The newest forced state changes, newest first, within the statistics' retention."""
        try:
            raw = self.redis.lrange(self.keys.routing_forced(), 0, max(0, limit - 1))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a forced-change lookup: {exc}") from exc
        cutoff = epoch_ms(self.clock.now()) - self.settings.stats.retention_days * 86_400_000
        changes = [json.loads(entry) for entry in raw]
        return [_forced(c) for c in changes if int(c["at"]) >= cutoff]

    def tick(self) -> list[Offer]:
        """Run assignment now (wrap-ups ended, requirements widened); hand out pending offers."""
        return _offers(self._run("tick", {}).get("offers"))

    def next_due(self) -> datetime | None:
        """The earliest time a tick could change anything without a new event (None: never).

        Now while offers wait to be acted on or callers wait with agents free; else the
        first wrap-up end, call-back retry, call expiry or call going stale. A ticker that
        sleeps until then misses nothing a beat every second would have done.
        """
        return _due(self._run("due", {}))

    def last_call(self) -> tuple[bool, datetime | None]:
        """Whether the last routing call, made at this very instant, left nothing for a tick
        to do now (it settled, and every offer it made has been acted on), and the next due
        time it saw. Only with the script's report enabled (the simulator); else (False, None)."""
        last = self.script.report.last
        if last is None or last[0] != epoch_ms(self.clock.now()):
            return False, None
        after = last[1]
        done = bool(after["settled"]) and not after["pulls"]
        return done, _due(after)

    def tick_due(self) -> tuple[list[Offer], datetime | None]:
        """`tick()` and `next_due()` after it, in one round trip."""
        out = self._run("tick_due", {})
        return _offers(out.get("offers")), _due(out)

    def stale_calls(self, limit: int) -> list[StaleCall]:
        """Claim up to `limit` live calls silent for `routing.reconcile_after`, to look up.

        A claimed call is not returned again (to this or another server) for another
        `reconcile_after`, so each is looked up once however many servers beat.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        out = self._run("stale", {"limit": limit})
        return [StaleCall(s["sid"], s["cb"] == 1) for s in out.get("stale") or []]

    def reconcile(self, call_sid: str, status: str) -> str:
        """Close a stale call with what Twilio says of it.

        A final status (completed, busy, failed, no-answer, canceled) ends it as its lost
        status callback would have; "unreported" (Twilio could not say) ends it only once
        nothing has been heard of it for `routing.max_call_seconds`. Anything else: no change.
        Returns the CallSid of the agent's leg placed for a caller found gone ("" if none),
        for the call flow to end, as after a reported hang-up (`hangup`).
        """
        out = self._run("reconcile", {"sid": call_sid, "status": status})
        return str(out.get("cancel") or "")

    def queue_sid(self, call_sid: str) -> str:
        """The Twilio QueueSid this caller's wait URL reported."""
        info = self.call(call_sid)
        return info.queue_sid if info else ""

    def offer_for(self, call_sid: str) -> Offer | None:
        """The agent this caller is assigned to (offered or talking), if any."""
        data = self._call_json(call_sid)
        if not data or data["st"] not in ("offered", "on_call"):
            return None
        agent = self.agents.get(data["ag"])
        return (
            _offer({"sid": call_sid, "call": data, "agent": profile_json(agent)}) if agent else None
        )

    def call(self, call_sid: str) -> CallInfo | None:
        """The routed call's record, or None."""
        data = self._call_json(call_sid)
        return _info(call_sid, data) if data else None

    def snapshot(self) -> QueueSnapshot:
        """Waiting now and the oldest entry per queue (seniors apart); agents by state."""
        out = self._run("snapshot", {})
        now = epoch_ms(self.clock.now())
        flat = out.get("states") or []
        agents = {
            flat[i]: status_from(json.loads(flat[i + 1]), now) for i in range(0, len(flat), 2)
        }
        by_state: dict[str, int] = {}
        for status in agents.values():
            by_state[status.state] = by_state.get(status.state, 0) + 1
        return QueueSnapshot(
            at=_at(now),
            queues={q["n"]: _figures(q) for q in out["queues"]},
            agents=dict(sorted(agents.items())),
            callbacks_retrying=int(out["retry"]),
            callbacks_failed=int(out["failed"]),
            agents_by_state=by_state,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        # The script records the statistics of what it did in the same atomic call.
        return self.script.run(op, epoch_ms(self.clock.now()), args)

    def _placement(self, call_sid: str, p: dict[str, Any]) -> Placement | None:
        if p["kind"] == "offer":
            return _offer(p["offer"])
        if p["kind"] == "queued":
            return Queued(call_sid, p["q"], int(p["pos"]), self._ewt(p))
        return None

    def _ewt(self, fig: dict[str, Any]) -> int:
        return estimate(int(fig["pos"]), int(fig["staffed"]), int(fig["h"]), int(fig["w"]))

    def _call_json(self, call_sid: str) -> dict[str, Any] | None:
        try:
            raw = self.redis.hget(self.keys.routing_calls(), call_sid)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a call lookup: {exc}") from exc
        return cast(dict[str, Any], json.loads(raw)) if raw else None


def _due(out: dict[str, Any]) -> datetime | None:
    at = out.get("at")
    return None if at is None else datetime.fromtimestamp(int(at) / 1000, UTC)


def _caller_json(caller: Caller) -> dict[str, Any]:
    return {
        "sr": 1 if caller.senior else 0,
        "nm": caller.name,
        "num": caller.number or "",
        "age": caller.age if caller.age is not None else -1,
        "d": caller.dialect,
    }


def _offers(raw: Any) -> list[Offer]:
    return [_offer(o) for o in raw or []]


def _offer(o: dict[str, Any]) -> Offer:
    c = o["call"]
    return Offer(call_sid=o["sid"], agent=agent_from(o["agent"]), **_caller_fields(c))


_LEG_CLAIMS = {1: "placing", 2: "dial"}  # the call record's lk, while no leg is recorded


def _caller_fields(c: dict[str, Any]) -> dict[str, Any]:
    """What an offer and a call record both say of the caller, from the script's JSON."""
    return {
        "queue": c["q"],
        "senior": c["sr"] == 1,
        "caller_name": c["nm"],
        "caller_number": c["num"] or None,
        "caller_age": None if int(c["age"]) < 0 else int(c["age"]),
        "caller_dialect": c["d"],
        "entered_at": _at(int(c["e"])),
        "callback": c["cb"] == 1,
        "leg": c.get("lg") or "",
        "in_room": c.get("rm") == 1,
        "agent_leg": c.get("al") or "",
        "leg_claim": _LEG_CLAIMS.get(0 if c.get("al") else int(c.get("lk") or 0), ""),
        "campaign": c.get("cv") or "",
        "reason": c.get("rs") or "",
        "open_leg": c.get("ol") or "",
        "open_room": c.get("oc") or "",
    }


def _info(call_sid: str, c: dict[str, Any]) -> CallInfo:
    return CallInfo(
        call_sid=call_sid,
        **_caller_fields(c),
        state=c["st"],
        agent_id=c["ag"],
        callback_attempts=int(c["at"]),
        queue_sid=c["qs"],
        answered_at=_at(int(c["am"])) if int(c.get("am") or 0) > 0 else None,
    )


def _forced(c: dict[str, Any]) -> ForcedChange:
    return ForcedChange(
        at=_at(int(c["at"])),
        by=c["by"],
        via=c["via"],
        agent_id=c["agent"],
        from_state=c["from"],
        to_state=c["to"],
        call_sid=c["call"],
        ended=c["ended"],
    )


def _figures(q: dict[str, Any]) -> QueueFigures:
    all_e, sr_e = int(q["all_e"]), int(q["sr_e"])
    return QueueFigures(
        queue=q["n"],
        waiting=int(q["all"]),
        oldest=_at(all_e) if all_e else None,
        seniors_waiting=int(q["sr"]),
        seniors_oldest=_at(sr_e) if sr_e else None,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
