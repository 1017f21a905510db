"""No full phone number or birth date reaches a log line, at DEBUG, whatever happens on a call.

Calls with known numbers and birth dates run through the app and the simulator (menu, green
channel, queue, call-back), then through failures that log tracebacks: Redis gone, and Twilio
refusing a call-back with an error that quotes the number. Every record of every logger is
formatted, traceback included, and searched for each number and date in the forms people write.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from app import create_app
from ivr import services
from ivr.runtime.logmask import mask
from ivr.simulator.core.people import Input, VirtualCaller
from routing.callers.caller import Customer
from routing.clock import FixedClock
from tests.conftest import CLUSTER
from tests.helpers.hotline import offline_hotline
from tests.webhook_client import post

# Callers of their own: each number's digits and birth date are looked for in the log.
SENIOR = ("+8613812345671", date(1951, 4, 17))
SENIOR2 = ("+8613912345672", date(1948, 12, 3))
YOUNG = ("+8613712345673", date(1990, 7, 21))
UNKNOWN = "+8613612345674"


def _forms(number: str) -> list[str]:
    national = number.removeprefix("+86")
    return [number, national, f"86{national}", f"{national[:3]} {national[3:7]} {national[7:]}"]


def _date_forms(born: date) -> list[str]:
    return [born.isoformat(), f"{born:%Y%m%d}", f"{born:%Y/%m/%d}", f"{born:%Y年%m月%d日}"]


SECRETS = [
    f for number in (SENIOR[0], SENIOR2[0], YOUNG[0], UNKNOWN) for f in _forms(number) if len(f) > 8
] + [f for _, born in (SENIOR, SENIOR2, YOUNG) for f in _date_forms(born)]


class RefusingTwilio(HttpClient):  # type: ignore[misc]
    """Twilio's REST answer to a call to a number it will not dial (error 21211)."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)

    def request(self, method: str, url: str, **kwargs: Any) -> TwilioResponse:
        to = (kwargs.get("data") or {}).get("To", "")
        body = {"code": 21211, "message": f"Invalid 'To' Phone Number: {to}", "status": 400}
        return TwilioResponse(400, json.dumps(body))


def _leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    return [
        f"{secret!r} in: {line[:300]}" for line in lines for secret in SECRETS if secret in line
    ]


def test_calls_log_no_number_or_birth_date(
    redis_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    people = [
        Customer(f"c{i}", f"客户{i}", born, None, (number,))
        for i, (number, born) in enumerate((SENIOR, SENIOR2, YOUNG))
    ]
    settings = {"routing.callback_offer_after": 20}
    off = offline_hotline(redis_url, clock, settings=settings, customers=people)
    off.add_agent("a1", {"senior", "policy"}, aht_s=120.0)
    off.call(VirtualCaller(SENIOR[0], off.sim.rng, accept_callback=True))
    off.call(VirtualCaller(SENIOR2[0], off.sim.rng, accept_callback=True), delay=1)
    off.call(VirtualCaller(YOUNG[0], off.sim.rng, inputs=[Input(digits="1")]), delay=2)
    off.call(VirtualCaller(UNKNOWN, off.sim.rng, inputs=[Input(digits="9")]), delay=3)
    off.run()
    assert not off.sim.faults
    assert len(caplog.records) > 0
    assert _leaks(caplog) == []


def test_failures_log_no_number_or_birth_date(
    redis_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    down = create_app({"redis.url": "redis://127.0.0.1:1/0"}).test_client()
    for number in (SENIOR[0], UNKNOWN):
        form = {"CallSid": "CA" + "3" * 32, "From": number, "Caller": number, "Digits": "1"}
        for path in ("/voice/incoming", "/voice/menu?attempt=1", "/voice/after-hours"):
            assert post(down, path, form).status_code == 200
        fallback = {**form, "ErrorCode": "11200", "ErrorUrl": f"http://x/voice/incoming?{number}"}
        assert post(down, "/voice/fallback", fallback).status_code == 200
    assert any(r.exc_info for r in caplog.records)  # tracebacks were logged and searched

    app = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER},
        clock=clock,
        twilio_http_client=RefusingTwilio(),
    )
    with app.app_context():
        sid = services.of(app).telephony.place(
            SENIOR[0],
            "+861095500000",
            "http://x/voice/callback-answer",
            "http://x/s",
            "http://x/f",
            "http://x/voice/amd",
        )
    assert sid is None
    assert any("could not place a call" in r.getMessage() for r in caplog.records)
    assert _leaks(caplog) == []


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call from +8613812345671", "call from •••••••••5671"),
        ("call from 138 1234 5671", "call from •••••••5671"),
        ("id 11010519491231002X ok", "id •••••••••••••1002 ok"),
        ("born 1951-04-17 and 1951年4月17日", "born ****-**-** and ****-**-**"),
        ("sid CA0000000000000000000000000000001f", "sid CA0000000000000000000000000000001f"),
        ("connecting to 127.0.0.1:50701 failed", "connecting to 127.0.0.1:50701 failed"),
        ("wait 12345 ms, line 42", "wait 12345 ms, line 42"),
    ],
)
def test_the_mask(text: str, masked: str) -> None:
    assert mask(text) == masked
