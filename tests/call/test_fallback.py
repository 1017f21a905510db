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


def test_a_forged_error_url_cannot_forge_a_log_line(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "https://h/voice/incoming\nINFO signed in as supervisor\x1b[2J"
    with caplog.at_level(logging.ERROR, logger="silverline.voice"):
        root = twiml(
            post(client, "/voice/fallback", {**CALL, "ErrorCode": "11200\r\n", "ErrorUrl": forged})
        )
    assert root.find("Dial").text == "+861095500999"  # still a person
    [line] = [
        r.getMessage() for r in caplog.records if "fallback URL after error" in r.getMessage()
    ]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "incoming\\x0aINFO signed" in line and "\\x1b[2J" in line  # escaped, still readable


def test_a_webhook_body_over_the_bound_is_413_and_a_page_form_too(client: FlaskClient) -> None:
    big = {**CALL, "Digits": "1" * (70 * 1024)}
    assert post(client, "/voice/incoming", big).status_code == 413
    assert post(client, "/voice/fallback", big).status_code == 413
    page = client.post("/login", data={"name": "x" * (70 * 1024), "password": "p"})
    assert page.status_code == 413 and "提交的内容过大" in page.get_data(as_text=True)
