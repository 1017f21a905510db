"""Aging: a caller who has waited their queue's `age_after` goes ahead of every priority."""

from __future__ import annotations

from routing.queues.router import Offer
from tests.routing.conftest import Desk, caller


def test_a_stream_of_seniors_cannot_hold_a_younger_caller_past_the_bound(desk: Desk) -> None:
    desk.agent("a01", skills="senior")  # takes seniors and general callers alike
    first = desk.router.arrive("CA-S0", caller(senior=True, number="+8613900000000"), "senior")
    assert isinstance(first, Offer)
    desk.router.answered("CA-S0", "a01")
    desk.router.arrive("CA-Y", caller(), "general")  # waits behind the senior stream
    served = []
    for n in range(1, 8):  # every 40 s a senior arrives and the agent's call ends
        desk.clock.advance(40)
        desk.router.arrive(f"CA-S{n}", caller(senior=True, number=f"+861390000000{n}"), "senior")
        done = desk.router.dial_result(served[-1] if served else "CA-S0", "a01", "completed", 40)
        assert done is None
        desk.clock.advance(15)  # the wrap-up
        [offer] = desk.router.tick()
        desk.router.answered(offer.call_sid, "a01")
        served.append(offer.call_sid)
        if offer.call_sid == "CA-Y":
            break
    # general's age_after is 180 s (config/silverline.toml): before it, seniors go first
    assert served[:3] == ["CA-S1", "CA-S2", "CA-S3"]
    assert served[-1] == "CA-Y" and len(served) == 4  # 220 s in: ahead of CA-S4
