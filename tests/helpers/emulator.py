"""Driving the offline Twilio's core against the small test app (tests/helpers/fakeapp.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from twilio.rest import Client

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.switch import Simulator
from tests.helpers import fakeapp

FROM = "+14155550100"
AGENT = "client:alice"


def seen(app: Flask, path: str) -> list[dict[str, str]]:
    """Forms the app received on `path`, in order."""
    return [form for p, _, form in app.config["seen"] if p == path]


def said(leg: Leg, party: str = "caller") -> list[str]:
    """What `party` heard said on `leg`, in order."""
    return [line.text for line in leg.transcript if line.kind == "say" and line.party == party]


def call(sim: Simulator, to: str, *inputs: Input, **options: Any) -> Leg:
    """Place a call from FROM to `to`; the caller gives `inputs` in turn."""
    caller = VirtualCaller(FROM, sim.rng, inputs=list(inputs), **options)
    return sim.place_call(caller, to)


def ring_agent(api: Client, room: str) -> str:
    """The lead's agent leg: calls.create whose TwiML whispers, then joins `room`."""
    url = f"{fakeapp.BASE}/agent-joins?room={room}"
    return str(api.calls.create(to=AGENT, from_=fakeapp.CONFERENCE, url=url).sid)
