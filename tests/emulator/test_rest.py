"""twilio-python's REST client, unchanged, against the simulator: in-process and over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from flask import Flask
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.rest import RestClient, wsgi_app
from ivr.simulator.core.switch import Simulator
from tests.helpers import fakeapp
from tests.helpers.emulator import said, seen

CONNECT = f"{fakeapp.BASE}/connect"


@pytest.fixture
def client(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    return Client(sim.account_sid, sim.auth_token, http_client=RestClient(sim))


def waiting(sim: Simulator, n: int) -> list[str]:
    """Place `n` callers into the silent queue, a second apart; return their CallSids."""
    sids = []
    for i in range(n):
        caller = VirtualCaller(f"+1415555010{i}", sim.rng)
        sids.append(sim.place_call(caller, fakeapp.SILENT_QUEUE, delay=float(i)).sid)
    sim.run(until=n + 5)
    return sids


def test_dequeue_a_chosen_member_runs_the_url_and_keeps_the_others_in_place(
    sim: Simulator, client: Client, fake_app: Flask
) -> None:
    first, second, third = waiting(sim, 3)
    queue = client.queues.list()[0]
    assert queue.friendly_name == "silent" and queue.current_size == 3
    member = client.queues(queue.sid).members(second).update(url=CONNECT, method="POST")
    assert member.call_sid == second and member.position == 2 and member.wait_time >= 3
    sim.run(until=20)
    assert said(sim.legs[second]) == ["Pulled out by REST"]
    assert sim.legs[second].status == "completed"
    assert client.queues(queue.sid).fetch().current_size == 2
    assert client.queues(queue.sid).members(third).fetch().position == 2
    front = client.queues(queue.sid).members("Front").update(url=CONNECT)
    assert front.call_sid == first


def test_update_a_live_call_with_twiml_then_complete_it(sim: Simulator, client: Client) -> None:
    (sid,) = waiting(sim, 1)
    call = client.calls(sid).update(
        twiml="<Response><Say>Moved</Say><Pause length='60'/></Response>"
    )
    assert call.sid == sid and call.status == "in-progress"
    sim.run(until=30)
    assert said(sim.legs[sid]) == ["Moved"]
    assert client.queues.list()[0].current_size == 0
    client.calls(sid).update(status="completed")
    sim.run()
    assert client.calls(sid).fetch().status == "completed"
    assert "after the queue" not in said(sim.legs[sid])  # REST replaced the document


def test_unknown_calls_and_members_are_404(sim: Simulator, client: Client) -> None:
    waiting(sim, 1)
    qsid = client.queues.list()[0].sid
    with pytest.raises(TwilioRestException) as err:
        client.queues(qsid).members("CA" + "f" * 32).update(url=CONNECT)
    assert err.value.status == 404
    with pytest.raises(TwilioRestException):
        client.calls("CA" + "e" * 32).update(url=CONNECT)


def test_wrong_credentials_are_refused(sim: Simulator) -> None:
    (sid,) = waiting(sim, 1)
    bad = Client(sim.account_sid, "wrong", http_client=RestClient(sim))
    with pytest.raises(TwilioRestException) as err:
        bad.calls(sid).update(url=CONNECT)
    assert err.value.status == 401


def test_create_call_rings_the_person_and_posts_status_callbacks(
    sim: Simulator, client: Client, fake_app: Flask
) -> None:
    callee = sim.people.add_caller(
        VirtualCaller("+14155550199", sim.rng, inputs=[Input(digits="2")])
    )
    callee.answer_delay_s = 4.0
    call = client.calls.create(
        to=callee.number,
        from_=fakeapp.SUPPORT,
        url=f"{fakeapp.BASE}/incoming",
        status_callback=f"{fakeapp.BASE}/status",
        status_callback_event=["answered", "completed"],
    )
    assert call.status == "queued" and call.direction == "outbound-api"
    sim.run()
    first = seen(fake_app, "/incoming")[0]
    assert first["Direction"] == "outbound-api" and first["CallStatus"] == "in-progress"
    statuses = [f["CallStatus"] for f in seen(fake_app, "/status") if f["CallSid"] == call.sid]
    assert statuses == ["in-progress", "completed"]
    assert seen(fake_app, "/dial-result")[0]["DialCallStatus"] == "completed"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def rest_server(sim: Simulator) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi_app(sim), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_wsgi_app_serves_twilio_python_over_http(
    sim: Simulator, rest_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    first, second = waiting(sim, 2)
    client = Client(sim.account_sid, sim.auth_token)
    client.api.base_url = rest_server
    qsid = client.queues.list()[0].sid
    member = client.queues(qsid).members(second).update(url=CONNECT, method="POST")
    assert member.position == 2
    sim.run(until=30)  # the dequeue reached the time line through the scheduler's inbox
    assert said(sim.legs[second]) == ["Pulled out by REST"]
    assert sim.queues.by_sid[qsid].position(first) == 1
