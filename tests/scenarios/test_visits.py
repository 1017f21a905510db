"""Return visits end to end: the campaign's calls placed through the offline Twilio's REST API
with answering-machine detection, the webhooks of ivr/call/visits.py, the routing engine and
Redis (docs/campaigns.md)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from dialects.packs import default_packs
from ivr.call.voice.common import spoken_number
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from routing.outbound.campaigns import Campaign, Target
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR, senior_customer

OTHER = "+8613800000003"  # not in the directory
PACKS = default_packs()
REASON = "保单贷款确认 policy loan confirmation"


VISITING = {"ivr.connect": "dial", "campaigns.agent_share": 1.0, "routing.senior_reserve": 0}
CANTONESE = (senior_customer("cantonese"),)


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, settings=VISITING, customers=CANTONESE, seed=5)


def campaign(off: Offline, tmp_path: Path, numbers: list[str], **fields: Any) -> Campaign:
    c = Campaign("loan", REASON, fields.pop("hours", "09:00-17:00"), **fields)
    path = tmp_path / "list.csv"
    path.write_text("number,name\n" + "".join(f"{n},客户\n" for n in numbers), encoding="utf-8")
    assert off.engine.campaigns.add(c, path).written
    return c


def customer(off: Offline, number: str, answers: str = "person") -> VirtualCaller:
    return off.sim.people.add_caller(VirtualCaller(number, off.sim.rng, answers=answers))


def visits(off: Offline) -> list[Leg]:
    legs = [x for x in off.sim.legs.values() if x.direction == "outbound-api" and x.to[0] == "+"]
    return sorted(legs, key=lambda x: x.created_at)


def said(leg: Leg) -> str:
    return " ".join(line.text for line in leg.transcript if line.kind == "say")


def target(off: Offline, number: str) -> Target:
    [found] = [t for t in off.engine.campaigns.targets("loan") if t.number == number]
    return found


def _agent_leg(off: Offline, visit: Leg) -> Leg:
    [leg] = [x for x in off.sim.legs.values() if x.parent_sid == visit.sid]
    return leg


def agent(off: Offline, aid: str, dialect: str = "mandarin", **phone: Any) -> AgentPhone:
    return off.add_agent(aid, {"senior"}, (dialect,), **{"aht_s": 60.0, **phone})


def test_a_customer_who_answers_hears_the_hotline_then_their_reserved_agent(
    hotline: Offline, tmp_path: Path
) -> None:
    agent(hotline, "m", "mandarin")
    canto = agent(hotline, "c", "cantonese")  # the customer's dialect: preferred
    customer(hotline, SENIOR)
    campaign(hotline, tmp_path, [SENIOR])
    hotline.run(until=600)
    [leg] = visits(hotline)
    intro = PACKS.text("cantonese", "visit_intro", hotline=hotline.settings.hotline.name, key="0")
    assert intro in said(leg)
    assert leg.bridged_at is not None and canto.calls == 1
    entry = target(hotline, SENIOR)
    assert entry.attempts == 1 and entry.outcome == "pending"
    [attempt] = entry.log
    assert attempt["agent"] == "c" and attempt["outcome"] == "talked"
    info = hotline.engine.router.call(attempt["sid"])
    assert info is not None and info.reason == REASON and info.senior
    events = [f for _, f in hotline.engine.redis.xrange(hotline.engine.keys.stats_events())]
    mine = [(e["kind"], e["queue"]) for e in events if e["call"] == attempt["sid"]]
    # counted apart from the inbound queues, and out of the times to a human
    assert ("offered", "visits") in mine and ("answered", "visits") in mine
    assert all(kind != "connected" for kind, _ in mine)
    hotline.engine.visits.wrapped_up(info, "confirmed", "")
    progress = hotline.engine.campaigns.progress("loan")
    assert (progress["confirmed"], progress["reached"], progress["pending"]) == (1, 1, 0)
    assert not hotline.sim.faults


def test_a_voicemail_gets_a_short_slow_message_and_no_agent_and_is_retried_per_plan(
    hotline: Offline, tmp_path: Path
) -> None:
    elder = agent(hotline, "e")
    customer(hotline, SENIOR, answers="voicemail")
    campaign(hotline, tmp_path, [SENIOR], attempts=2, spacing_minutes=10)
    hotline.run(until=1500)
    first, second = visits(hotline)
    assert 600 <= second.created_at - first.created_at < 660  # the plan's spacing
    number = spoken_number(hotline.settings.twilio.caller_id)
    message = PACKS.text(
        "cantonese", "visit_voicemail", hotline=hotline.settings.hotline.name, number=number
    )
    assert message in said(first) and "0 1 0, 9 5 5 0, 0 0 0 0" in said(first)
    assert elder.calls == 0 and first.bridged_at is None
    entry = target(hotline, SENIOR)
    assert [a["outcome"] for a in entry.log] == ["voicemail", "voicemail"]
    assert entry.outcome == "failed" and entry.attempts == 2
    assert hotline.engine.agents.state("e").state == "available"
    assert len(visits(hotline)) == 2  # no third call
    assert not hotline.sim.faults


@pytest.mark.parametrize(("answers", "outcome"), [("busy", "busy"), ("nobody", "no-answer")])
def test_busy_and_no_answer_free_the_agent_and_are_retried_per_plan(
    hotline: Offline, tmp_path: Path, answers: str, outcome: str
) -> None:
    elder = agent(hotline, "e")
    customer(hotline, SENIOR, answers=answers)
    campaign(hotline, tmp_path, [SENIOR], attempts=3, spacing_minutes=10)
    hotline.run(until=590)
    assert len(visits(hotline)) == 1
    assert hotline.engine.agents.state("e").state == "available" and elder.calls == 0
    hotline.run(until=2000)
    entry = target(hotline, SENIOR)
    assert [a["outcome"] for a in entry.log] == [outcome] * 3
    assert entry.outcome == "failed" and len(visits(hotline)) == 3
    assert not hotline.sim.faults


def test_nobody_is_dialled_outside_hours_without_an_agent_or_on_the_do_not_call_list(
    hotline: Offline, tmp_path: Path
) -> None:
    customer(hotline, SENIOR)
    customer(hotline, OTHER)
    campaign(hotline, tmp_path, [SENIOR, OTHER], hours="10:30-17:00")  # T0 is 10:00
    hotline.engine.campaigns.forbid(OTHER)
    hotline.run(until=1500)
    assert visits(hotline) == []  # in hours from 10:30, but no agent at all
    agent(hotline, "e")
    hotline.run(until=2500)
    [leg] = visits(hotline)  # not OTHER: they asked not to be called
    assert leg.to == SENIOR and leg.created_at >= 1800  # 10:30 Shanghai at the earliest


def test_inbound_callers_come_first_and_visits_keep_to_the_share(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    settings = {**VISITING, "campaigns.agent_share": 0.5}
    off = offline_hotline(redis_url, clock, settings=settings, customers=CANTONESE, seed=5)
    agent(off, "a", aht_s=120.0)
    agent(off, "b", aht_s=120.0)
    inbound = off.call(VirtualCaller(SENIOR, off.sim.rng))  # calls at once, before any beat
    numbers = [f"+86139000000{i:02d}" for i in range(4)]
    for n in numbers:
        customer(off, n)
    campaign(off, tmp_path, numbers)
    off.run(until=3000)
    assert inbound.bridged_at is not None and inbound.enqueued_at is None  # never waited
    legs = visits(off)
    assert len(legs) == 4
    # at most one of the two agents held by a visit at any time (0.5 of 2): from the dialling
    # (the agent is reserved first) to the end of the agent's leg
    held = [(leg.created_at, _agent_leg(off, leg).ended_at or 1e9) for leg in legs]
    for start, end in held:
        assert [x for x in held if x[0] < end and x[1] > start] == [(start, end)]
    assert off.engine.campaigns.progress("loan")["pending"] == 4  # talked, none coded yet
    assert not off.sim.faults


def test_call_me_at_three_is_the_next_attempt_in_the_customers_zone(
    hotline: Offline, tmp_path: Path
) -> None:
    agent(hotline, "e")
    customer(hotline, SENIOR)
    campaign(hotline, tmp_path, [SENIOR])
    hotline.run(until=600)
    [attempt] = target(hotline, SENIOR).log
    info = hotline.engine.router.call(attempt["sid"])
    assert info is not None
    hotline.engine.visits.wrapped_up(info, "call_back_later", "请下午 15:00 再打")
    entry = target(hotline, SENIOR)
    due = hotline.engine.campaigns.next_local(SENIOR, time(15, 0), hotline.sim.clock.now())
    assert entry.outcome == "call_back_later" and entry.next_ms == int(due.timestamp() * 1000)
    hotline.run(until=4 * 3600)  # 10:10 to 14:00: not called again
    assert len(visits(hotline)) == 1
    hotline.run(until=5 * 3600 - 10)
    assert len(visits(hotline)) == 1
    hotline.run(until=5 * 3600 + 60)  # 15:00 Shanghai (T0 is 10:00)
    second = visits(hotline)[1]
    assert abs(second.created_at - 5 * 3600) < 5
