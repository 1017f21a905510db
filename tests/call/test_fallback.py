import logging

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.webhook_client import post, spoken, twiml

CALL = {"CallSid": "CA" + "1" * 32, "From": "+8613800138000", "To": "+861095500000"}


def test_fallback_dials_the_configured_line(client: FlaskClient) -> None:
    root = twiml(post(client, "/voice/fallback", {**CALL, "ErrorCode": "11200"}))
    dial = root.find("Dial")
    assert dial is not None and dial.text == "+861095500999"
    assert "转接人工客服" in spoken(root)
    assert root.find("Say/prosody").get("rate") == "80%"


def test_fallback_needs_no_redis() -> None:
    app = create_app({"redis.url": "redis://127.0.0.1:1/0", "redis.socket_timeout": 0.2})
    root = twiml(post(app.test_client(), "/voice/fallback", CALL))
    assert root.find("Dial").text == "+861095500999"


def test_known_signature_vector() -> None:
    from twilio.request_validator import RequestValidator

    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    sig = RequestValidator("12345").compute_signature(
        "https://example.com/myapp.php?foo=1&bar=2", params
    )
    assert sig == "L/OH5YylLD5NRKLltdqwSvS0BnU="


def test_unsigned_or_tampered_requests_get_403(client: FlaskClient) -> None:
    # /voice/status changes state: a forged report must not free an agent or end a call
    assert post(client, "/voice/status", CALL, signature="").status_code == 403
    assert post(client, "/voice/status", CALL, token="wrong-token").status_code == 403
    res = post(client, "/voice/status", CALL, signature="L/OH5YylLD5NRKLltdqwSvS0BnU=")
    assert res.status_code == 403


@pytest.mark.parametrize("path", ["/voice/fallback", "/voice/line-result"])
def test_the_fallback_routes_answer_a_bad_signature_with_a_person_and_a_warning(
    client: FlaskClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # They change nothing and only dial the fallback line; refusing them would hang up on a
    # real caller whenever twilio.public_url is wrong, which is when the fallback is used.
    with caplog.at_level(logging.WARNING, logger="silverline.voice"):
        res = post(client, path, CALL, token="wrong-token")
    assert res.status_code == 200
    assert twiml(res).find("Dial").text == "+861095500999"
    assert any("X-Twilio-Signature" in r.getMessage() for r in caplog.records)


def test_signatures_use_the_public_url(redis_url: str) -> None:
    app = create_app({"redis.url": redis_url, "twilio.public_url": "https://hotline.example.com"})
    from twilio.request_validator import RequestValidator

    from ivr.settings import DEMO_AUTH_TOKEN

    good = RequestValidator(DEMO_AUTH_TOKEN).compute_signature(
        "https://hotline.example.com/voice/status", CALL
    )
    c = app.test_client()
    assert (
        c.post("/voice/status", data=CALL, headers={"X-Twilio-Signature": good}).status_code == 200
    )
    # Signed for the internal URL instead of the public one: rejected.
    assert post(c, "/voice/status", CALL).status_code == 403


def test_validation_can_be_turned_off_explicitly(redis_url: str) -> None:
    app = create_app({"redis.url": redis_url, "twilio.validate_signatures": False})
    assert app.test_client().post("/voice/status", data=CALL).status_code == 200
