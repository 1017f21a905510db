"""The emulator core's tests: twilio-python's own REST client served by the simulator."""

from __future__ import annotations

import pytest
from twilio.rest import Client

from ivr.simulator.core.rest import RestClient
from ivr.simulator.core.switch import Simulator


@pytest.fixture
def api(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Client:
    """twilio-python's own client, its requests served in-process by the simulator."""
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    return Client(sim.account_sid, sim.auth_token, http_client=RestClient(sim))
