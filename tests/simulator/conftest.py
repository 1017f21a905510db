"""A simulator wired to the small test app of fakeapp.py."""

from __future__ import annotations

import pytest
from flask import Flask

from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import FlaskTransport
from routing.clock import FixedClock
from tests.conftest import T0
from tests.simulator import fakeapp


@pytest.fixture
def fake_app() -> Flask:
    return fakeapp.create()


@pytest.fixture
def sim(fake_app: Flask) -> Simulator:
    """A simulator whose numbers all point at the test app's /incoming."""
    s = Simulator(clock=FixedClock(T0), auth_token=fakeapp.TOKEN, seed=7)
    s.connect(FlaskTransport(fake_app))
    numbers = [v for k, v in vars(fakeapp).items() if k.isupper() and str(v).startswith("+")]
    for number in numbers:
        s.add_number(number, f"{fakeapp.BASE}/incoming", status_callback=f"{fakeapp.BASE}/status")
    return s
