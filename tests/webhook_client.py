"""Test helpers: sign requests like Twilio and read TwiML with XPath."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.settings import DEMO_AUTH_TOKEN
from ivr.simulator.core import parse

BASE = "http://localhost"

# Verbs Twilio allows in each place a document runs: the offline Twilio's table, which cites
# the pages (one table, so that the two cannot disagree).
ALLOWED = parse.ALLOWED
GATHER_CHILDREN = parse.ALLOWED[parse.GATHER]


_sids = iter(range(10**6))


def call_sid() -> str:
    """A CallSid no other call of this test run has."""
    return f"CA{next(_sids):032d}"


def params(frm: str, sid: str, **extra: str) -> dict[str, str]:
    """The form Twilio posts to a voice webhook for an inbound call from `frm`, and `extra`."""
    base = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": frm,
        "To": "+861095500000",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    return {**base, **extra}


def post(
    client: FlaskClient,
    path: str,
    params: Mapping[str, str],
    token: str = DEMO_AUTH_TOKEN,
    signature: str | None = None,
) -> TestResponse:
    """POST form `params` to `path` with the X-Twilio-Signature Twilio would send."""
    url = BASE + path
    sig = (
        RequestValidator(token).compute_signature(url, dict(params))
        if signature is None
        else signature
    )
    return client.post(path, data=dict(params), headers={"X-Twilio-Signature": sig})


def twiml(res: TestResponse, where: str = "call") -> ET.Element:
    """Parse a TwiML response and check it is valid for `where` it runs."""
    assert res.status_code == 200, res.get_data(as_text=True)
    assert res.mimetype in ("text/xml", "application/xml")
    root = ET.fromstring(res.get_data())
    assert root.tag == "Response"
    for verb in root:
        assert verb.tag in ALLOWED[where], f"<{verb.tag}> is not allowed in a {where} document"
        if verb.tag == "Gather":
            for child in verb:
                assert child.tag in GATHER_CHILDREN, f"<{child.tag}> inside <Gather>"
            assert verb.get("action", "").startswith(("http://", "https://", "/"))
    return root


def spoken(root: ET.Element) -> str:
    """All text the caller hears, in order (Say text, including SSML children)."""
    return " ".join("".join(say.itertext()) for say in root.iter("Say"))


def twiml_of(body: str, where: str = "call") -> ET.Element:
    """Parse a TwiML body and check every verb is allowed `where` it runs."""
    root = ET.fromstring(body)
    assert root.tag == "Response", body[:200]
    for verb in root:
        assert verb.tag in ALLOWED[where], f"<{verb.tag}> is not allowed in a {where} document"
        if verb.tag == "Gather":
            assert all(child.tag in GATHER_CHILDREN for child in verb), body[:200]
    return root
