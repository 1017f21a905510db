"""The webhooks of a return visit's call (ivr/call/visits.py), as Twilio would post them."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from routing.engine import Engine
from routing.outbound.campaigns import Campaign
from routing.queues.router import Offer
from tests.helpers.people import SENIOR, add_agent
from tests.webhook_client import call_sid, params, post, twiml

REASON = "保单贷款确认"


def reserve(engine: Engine, tmp_path: Path) -> Offer:
    """A campaign of one senior, and the visit to them started: ten senior-trained agents,
    so that the default share (0.1) of them is one and the senior reserve keeps another."""
    for aid in "abcdefghij":
        add_agent(engine, aid, {"senior"}, ("cantonese",))
    path = tmp_path / "list.csv"
    path.write_text(f"number\n{SENIOR}\n", encoding="utf-8")
    engine.campaigns.add(Campaign("loan", REASON, "09:00-17:00"), path)
    [offer] = [o for o in engine.visits.start() if o.campaign]
    assert offer.to_place and offer.reason == REASON
    return offer


def answer(client: FlaskClient, path: str, offer: Offer, **extra: str) -> FlaskClient:
    form = params(
        SENIOR, call_sid(), **{"Direction": "outbound-api", "CallStatus": "in-progress", **extra}
    )
    return post(client, f"{path}?call={offer.call_sid}", form)  # type: ignore[return-value]


def test_a_person_hears_the_hotline_in_a_gather_then_is_put_through_to_their_agent(
    client: FlaskClient, people: Engine, tmp_path: Path
) -> None:
    offer = reserve(people, tmp_path)
    root = twiml(answer(client, "/voice/visit-answer", offer, AnsweredBy="human"))
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech"
    assert "人工" in (gather.get("hints") or "")
    assert "回訪" in "".join(gather.itertext())  # Cantonese, slowly (a senior)
    assert gather.find("Say/prosody") is not None
    redirect = root.find("Redirect")
    assert redirect is not None and "/voice/visit-connect" in (redirect.text or "")
    dial = twiml(answer(client, "/voice/visit-connect", offer, Digits="0")).find("Dial")
    assert dial is not None and dial.findtext("Client") == offer.agent.id


def test_a_machine_gets_a_short_slow_message_and_the_agent_is_freed(
    client: FlaskClient, people: Engine, tmp_path: Path
) -> None:
    offer = reserve(people, tmp_path)
    root = twiml(answer(client, "/voice/visit-answer", offer, AnsweredBy="machine_end_beep"))
    [say] = root.findall("Say")
    prosody = say.find("prosody")
    assert prosody is not None and prosody.get("rate") == "80%"
    assert "0 1 0, 9 5 5 0, 0 0 0 0" in (prosody.text or "")
    assert root.find("Hangup") is not None and root.find("Dial") is None
    assert people.agents.state(offer.agent.id).state == "available"
    [entry] = people.campaigns.targets("loan")
    assert [a["outcome"] for a in entry.log] == ["voicemail"]
    twiml(answer(client, "/voice/visit-status", offer, CallStatus="completed"))
    [entry] = people.campaigns.targets("loan")
    assert [a["outcome"] for a in entry.log] == ["voicemail"]  # counted once


def test_a_lost_agent_leaves_the_customer_in_line_for_the_next(
    client: FlaskClient, people: Engine, tmp_path: Path
) -> None:
    offer = reserve(people, tmp_path)
    twiml(answer(client, "/voice/visit-answer", offer, AnsweredBy="human"))
    people.router.force_agent_state(offer.agent.id, "offline", "boss", "cli")
    root = twiml(answer(client, "/voice/visit-connect", offer))
    dial = root.find("Dial")  # the customer, on the line, was given the next free agent
    assert dial is not None and dial.findtext("Client") not in ("", None, offer.agent.id)
    for aid in "abcdefghij":
        people.router.force_agent_state(aid, "offline", "boss", "cli")
    root = twiml(answer(client, "/voice/visit-connect", offer))
    assert root.find("Enqueue") is not None  # nobody at all: in line, never hung up on


def test_forged_visit_webhooks_are_refused(
    client: FlaskClient, people: Engine, tmp_path: Path
) -> None:
    offer = reserve(people, tmp_path)
    for path in ("/voice/visit-answer", "/voice/visit-connect", "/voice/visit-status"):
        form = params(SENIOR, call_sid(), AnsweredBy="machine_start", CallStatus="busy")
        res = post(client, f"{path}?call={offer.call_sid}", form, token="forged")
        assert res.status_code == 403, path
    assert people.agents.state(offer.agent.id).state == "offered"
