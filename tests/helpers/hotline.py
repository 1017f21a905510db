"""The offline hotline: the real app on the offline Twilio, built once for every test."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app import create_app
from dialects.packs import default_packs
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from tests.helpers import CLUSTER, T0
from tests.helpers.people import SENIOR_CUSTOMER


def offline_hotline(
    redis_url: str,
    clock: FixedClock | None = None,
    *,
    settings: Mapping[str, object] | None = None,
    customers: Iterable[Customer] = (SENIOR_CUSTOMER,),
    seed: int = 3,
    **offline: Any,
) -> Offline:
    """Build the app on `redis_url` behind the offline Twilio, with `customers` in its directory.

    `settings` override the app's (dotted keys, as create_app takes them); `offline` goes to
    Offline (seconds_per_char, beat_s, linger_s). The clock starts at T0 unless given.
    """
    overrides = {"redis.url": redis_url, "redis.cluster": CLUSTER, **(settings or {})}
    off = Offline(create_app, overrides, clock=clock or FixedClock(T0), seed=seed, **offline)
    for customer in customers:
        off.engine.directory.save(customer)
    return off


def heard(leg: Leg, party: str = "caller") -> list[str]:
    """What `party` heard said on `leg`, in order."""
    return [line.text for line in leg.transcript if line.party == party and line.kind == "say"]


def events(leg: Leg) -> list[str]:
    """The offline Twilio's events on `leg` ("ringing client:a01", "connected to ..."), in order."""
    return [line.text for line in leg.transcript if line.kind == "event"]


def connected(leg: Leg) -> list[str]:
    """Whom `leg` was connected to, in order."""
    return [line.text for line in leg.transcript if line.text.startswith("connected to ")]


def call_backs(off: Offline) -> list[Leg]:
    """The calls the hotline placed through REST (call-backs, visits, agents' legs), in order."""
    return [leg for leg in off.sim.legs.values() if leg.direction == "outbound-api"]


def ask_for_a_call_back(off: Offline, caller: VirtualCaller) -> Leg:
    """The senior waits with nobody staffed, accepts the call-back offer and hangs up."""
    leg = off.call(caller)
    off.run(until=120)
    assert default_packs().text("mandarin", "callback_confirmed") in heard(leg) and leg.ended
    return leg
