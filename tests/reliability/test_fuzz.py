"""Hostile input: every /voice/ route, the config loader and the CSV importer, fuzzed.

Signed requests, whatever their fields and query, get 200 and TwiML valid where it runs, and
no webhook fails inside (a swallowed exception would still reach the fallback line, but it is a
bug that input caused). Unsigned or tampered requests get 403 and change nothing in Redis.
Config values that are wrong raise a SettingsError naming the key; CSV files that are wrong
give per-line errors and write nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ivr.settings import DEMO_AUTH_TOKEN, load_settings
from ivr.simulator.ledger import context_of
from routing.callers.directory import Directory
from routing.callers.importer import HEADER, import_csv
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import ImportRowError, SettingsError
from routing.keys import Keys
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.conftest import T0
from tests.profiles import examples
from tests.webhook_client import twiml_of

BASE = "http://localhost"
ROUTES = {
    "/voice/incoming",
    "/voice/menu",
    "/voice/wait",
    "/voice/callback-request",
    "/voice/full-callback",
    "/voice/visit-answer",
    "/voice/visit-connect",
    "/voice/visit-status",
    "/voice/queue-result",
    "/voice/connect",
    "/voice/whisper",
    "/voice/dial-result",
    "/voice/status",
    "/voice/callback-answer",
    "/voice/callback-status",
    "/voice/after-hours",
    "/voice/complaint-choice",
    "/voice/complaint-recorded",
    "/voice/fallback",
    "/voice/line-result",
    "/voice/hold",
    "/voice/room",
    "/voice/enter",
    "/voice/agent-answer",
    "/voice/agent-accept",
    "/voice/amd",
    "/voice/machine-answer",
    "/voice/machine-confirm",
    "/voice/machine-message",
    "/voice/agent-status",
    "/voice/room-status",
    "/voice/room-result",
    "/voice/open-room",
    "/voice/announce",
    "/voice/open-line-status",
    "/voice/softphone-line",
}
# Settings-only routes that only dial the fallback lines: they answer a bad signature too
# (ivr/call/fallback.py), and must still change nothing.
ANSWER_ANYWAY = {"/voice/fallback", "/voice/line-result"}
FUZZ = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text Twilio never sends: control characters, XML, huge, non-BMP; no lone surrogates (those
# cannot be sent in UTF-8 at all).
_chars = st.characters(blacklist_categories=("Cs",))
hostile = st.one_of(
    st.text(_chars, max_size=40),
    st.sampled_from(
        [
            "",
            "<Response><Hangup/></Response>",
            "]]><Dial>+1</Dial>",
            "&amp;&#0;&lt;",
            "\x00\x01\x1f\x7f",
            "-1",
            "1e309",
            "NaN",
            "99999999999999999999999",
            "true",
            "null",
            "[]",
            "{}",
            "CA" + "f" * 32,
            "+8613800000001",
            "client:a0",
            "🦜" * 50,
            "0" * 5000,
        ]
    ),
    st.integers().map(str),
)
TWILIO_FIELDS = [
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "CallStatus",
    "Direction",
    "Digits",
    "SpeechResult",
    "Confidence",
    "QueueResult",
    "QueueSid",
    "QueuePosition",
    "DialCallStatus",
    "DialCallDuration",
    "DialCallSid",
    "ErrorCode",
    "ErrorUrl",
    "CallDuration",
    "purpose",  # the softphone's Device.connect params (/voice/softphone-line)
]
QUERY_ARGS = ["attempt", "empty", "agent", "call", "x", "attempt[]", "d", "s", "by"]
forms = st.dictionaries(st.sampled_from(TWILIO_FIELDS) | st.text(_chars, max_size=8), hostile)
queries = st.dictionaries(st.sampled_from(QUERY_ARGS), hostile, max_size=4)
routes = st.sampled_from(sorted(ROUTES))


def _url(path: str, query: Mapping[str, str]) -> str:
    return path + (f"?{urlencode(query)}" if query else "")


def _send(
    client: FlaskClient, method: str, path: str, form: dict[str, str], signature: str | None
) -> Any:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=form, headers=headers)


def _sign(method: str, url: str, form: dict[str, str]) -> str:
    signed_form = form if method == "POST" else {}
    return str(RequestValidator(DEMO_AUTH_TOKEN).compute_signature(BASE + url, signed_form))


def _state(r: RedisClient) -> dict[str, Any]:
    return {key: (r.type(key), r.dump(key)) for key in sorted(r.keys("*"))}


@pytest.fixture
def staffed(app: Flask, engine: Engine) -> Flask:
    agent = Agent("a0", "A0", "client:a0", frozenset({"senior", "policy"}), ("mandarin",))
    engine.agents.save(agent)
    engine.router.set_agent_state("a0", "available")
    return app


def test_the_fuzzed_routes_are_every_voice_route(app: Flask) -> None:
    found = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/voice/")}
    assert found == ROUTES


@FUZZ
@given(path=routes, query=queries, form=forms, method=st.sampled_from(["POST", "GET"]))
def test_signed_requests_always_get_valid_twiml(
    staffed: Flask,
    caplog: pytest.LogCaptureFixture,
    path: str,
    query: dict[str, str],
    form: dict[str, str],
    method: str,
) -> None:
    client = staffed.test_client()
    url = _url(path, query)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="silverline"):
        res = _send(client, method, url, form, _sign(method, url, form))
    assert res.status_code == 200, res.get_data(as_text=True)[:300]
    assert res.mimetype == "text/xml"
    twiml_of(res.get_data(as_text=True), context_of(path))
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not failures, failures[0].getMessage() + "\n" + caplog.text[-3000:]


@FUZZ
@given(
    path=routes,
    query=queries,
    form=forms,
    method=st.sampled_from(["POST", "GET"]),
    how=st.sampled_from(["unsigned", "wrong token", "tampered form", "tampered query", "junk"]),
    junk=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60),
)
# Found by this test: a non-ASCII signature made hmac.compare_digest raise (HTTP 500).
@example(path="/voice/incoming", query={}, form={}, method="POST", how="junk", junk="\xa0")
def test_unsigned_or_tampered_requests_get_403_and_change_nothing(
    staffed: Flask,
    r: RedisClient,
    path: str,
    query: dict[str, str],
    form: dict[str, str],
    method: str,
    how: str,
    junk: str,
) -> None:
    client = staffed.test_client()
    url = _url(path, query)
    signature: str | None = _sign(method, url, form)
    sent_url, sent_form = url, form
    if how == "unsigned":
        signature = None
    elif how == "wrong token":
        signature = RequestValidator("forged").compute_signature(BASE + url, form)
    elif how == "tampered form":
        sent_form = {**form, "Digits": form.get("Digits", "") + "0"}
        if method == "GET":  # a GET has no form: tamper with its query instead
            sent_url = _url(path, {**query, "tampered": "1"})
    elif how == "tampered query":
        sent_url = _url(path, {**query, "tampered": "1"})
    else:
        signature = junk.encode("utf-8", "replace").decode("latin-1")
    before = _state(r)
    res = _send(client, method, sent_url, sent_form, signature)
    if path in ANSWER_ANYWAY:
        assert res.status_code == 200
        twiml_of(res.get_data(as_text=True), context_of(path))
    else:
        assert res.status_code == 403
    assert _state(r) == before


# -- configuration ----------------------------------------------------------------------------

SETTING_KEYS = [
    "hotline.senior_age",
    "hotline.timezone",
    "hotline.default_region",
    "server.port",
    "server.workers",
    "redis.socket_timeout",
    "redis.appendfsync",
    "redis.url",
    "redis.cluster",
    "fallback.number",
    "ivr.gather_timeout",
    "ivr.senior_rate",
    "ivr.agent_key",
    "ivr.topics",
    "business_hours.open",
    "business_hours.weekdays",
    "business_hours.holidays",
    "queues.senior.sl_percent",
    "queues.general",
    "stats.interval_minutes",
    "stats.histogram_bounds",
    "routing.dial_timeout",
    "twilio.public_url",
    "nonsense.key",
    "hotline.nonsense",
]
# Every type a TOML value can have (tables and arrays nested a little).
_toml_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(_chars, max_size=20),
    st.dates(),
    st.times(),
    st.datetimes(),
)
toml_values = st.recursive(
    _toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
env_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


def _names_a_key(exc: SettingsError) -> bool:
    text = str(exc)
    return text.startswith(("config key '", "config file "))


@settings(max_examples=examples(80), deadline=None)
@given(key=st.sampled_from(SETTING_KEYS), value=toml_values)
def test_any_toml_value_loads_or_names_the_key(key: str, value: Any) -> None:
    """Any value TOML can hold, set on any key over the shipped file."""
    try:
        load_settings({key: value}, environ={})
    except SettingsError as exc:
        assert _names_a_key(exc), str(exc)


@settings(max_examples=examples(40), deadline=None)
@given(text=st.text(_chars, max_size=200), raw=st.binary(max_size=60))
def test_a_broken_config_file_is_a_settings_error(
    tmp_path_factory: Any, text: str, raw: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_bytes(text.encode("utf-8") + raw)
    try:
        load_settings(environ={}, config_path=path)
    except SettingsError as exc:
        assert _names_a_key(exc), str(exc)


@settings(max_examples=examples(80), deadline=None)
@given(key=st.sampled_from(SETTING_KEYS), value=env_values)
def test_any_environment_value_loads_or_names_the_key(key: str, value: str) -> None:
    name = "SILVERLINE__" + key.upper().replace(".", "__")
    try:
        load_settings(environ={name: value})
    except SettingsError as exc:
        assert _names_a_key(exc), str(exc)


# -- CSV import ---------------------------------------------------------------------------------

csv_fields = st.one_of(
    st.text(_chars, max_size=25),
    st.sampled_from(["13800138000", "1950-01-01", "11010519491231002X", "mandarin", '"', ","]),
)
csv_rows = st.lists(st.lists(csv_fields, min_size=0, max_size=7), max_size=6)


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=csv_rows, header=st.booleans(), raw=st.binary(max_size=40))
def test_any_csv_gives_line_errors_and_writes_nothing_on_failure(
    tmp_path_factory: Any, r: RedisClient, rows: list[list[str]], header: bool, raw: bytes
) -> None:
    r.flushdb()
    settings_ = load_settings(environ={})
    directory = Directory(r, FixedClock(T0), settings_, Keys(settings_.redis.key_prefix))
    path: Path = tmp_path_factory.mktemp("csv") / "c.csv"
    lines = [",".join(HEADER)] if header else []
    lines += [",".join(row) for row in rows]
    path.write_bytes("\n".join(lines).encode("utf-8", "replace") + b"\n" + raw)
    try:
        report = import_csv(directory, path, workers=1)
    except ImportRowError as exc:
        assert exc.line >= 1 and exc.reason
        assert r.dbsize() == 0
        return
    for problem in report.problems:
        assert problem.line >= 2 and problem.reason
    if report.problems:
        assert not report.written and r.dbsize() == 0
    else:
        assert report.written
