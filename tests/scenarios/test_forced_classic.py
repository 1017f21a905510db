"""A supervisor forces a ringing agent on the classic path (<Dial> from the caller's call),
through the real webhooks and the offline Twilio: the ring must stop, not only the offer."""

from __future__ import annotations

import pytest

from ivr.call import dispatch
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, settings={"ivr.connect": "dial"})


def dialled(off: Offline, contact: str) -> list[Leg]:
    return [leg for leg in off.sim.legs.values() if leg.to == contact]


def test_forcing_an_agent_rung_by_a_classic_dial_stops_the_ring_and_the_next_agent_talks(
    hotline: Offline,
) -> None:
    slow = hotline.add_agent("slow", {"senior"}, answer_delay_s=(15.0, 15.0))
    hotline.run(until=30)  # slow has been idle longest, so is rung first
    other = hotline.add_agent("other", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    hotline.run(until=31)
    caller = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=40)  # the greeting played; the <Dial> rings slow
    ringing = dialled(hotline, "client:slow")
    assert len(ringing) == 1 and ringing[0].answered_at is None and not ringing[0].ended

    change, offers = hotline.engine.router.force_agent_state("slow", "away", "sue", "web")
    assert (change.ended, change.leg, change.line) == ("offer", "", caller.sid)
    with hotline.app.app_context():  # what POST /api/v1/agents/<id>/state does with it
        dispatch.end_agent_leg(change.leg)
        dispatch.reconnect(change.line, change.call_sid, hotline.base)
        dispatch.act_on(offers, hotline.base)
    hotline.run(until=300)

    assert not hotline.sim.faults
    assert ringing[0].ended and ringing[0].answered_at is None  # slow's phone stopped ringing
    assert slow.calls == 0 and other.calls == 1
    assert caller.bridged_at is not None
    assert [
        leg.to
        for leg in hotline.sim.legs.values()
        if leg.answered_at and leg.to.startswith("client:")
    ] == ["client:other"]
