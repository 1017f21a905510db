"""Today's abandoned callers and the one-click call-back, through the real app's API."""

from __future__ import annotations

from flask.testing import FlaskClient

from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from tests.web.conftest import SENIOR, YOUNGER, session_csrf, sign_in

BOOK = "/api/v1/abandoned/CA-S/callback"


def abandon_two(engine: Engine, clock: FixedClock) -> None:
    """A younger caller hangs up after 90 s, then a senior after 30 s (no agent is free)."""
    engine.router.arrive("CA-Y", YOUNGER, "general")
    clock.advance(90)
    engine.router.hangup("CA-Y")
    engine.router.arrive("CA-S", SENIOR, "senior")
    clock.advance(30)
    engine.router.hangup("CA-S")


def test_the_list_puts_seniors_first_with_their_wait_and_a_masked_number(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    abandon_two(engine, clock)
    sign_in(client, "sue")
    listed = client.get("/api/v1/abandoned").get_json()
    assert [(c["call_sid"], c["senior"], c["waited_s"]) for c in listed["callers"]] == [
        ("CA-S", True, 30),
        ("CA-Y", False, 90),
    ]
    senior = listed["callers"][0]
    assert (senior["name"], senior["number"], senior["age"]) == ("陈婉仪", "+86•••••••0060", 72)
    assert senior["can_call_back"] and senior["callback"] == "none"
    assert listed["day"] == "2026-11-23"


def test_one_click_books_a_call_back_once_and_records_who(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    abandon_two(engine, clock)
    sign_in(client, "sue")
    token = {"X-CSRF-Token": session_csrf(client)}
    booked = client.post(BOOK, headers=token)
    assert booked.status_code == 200
    body = booked.get_json()
    assert body["booked"]["callback"] == "booked"
    assert body["callers"][0]["callback"] == "booked" and not body["callers"][0]["can_call_back"]
    [request] = engine.callbacks.pending()
    assert (request.call_sid, request.number, request.senior) == ("CA-S:cb", SENIOR.number, True)
    again = client.post(BOOK, headers=token)
    assert again.status_code == 409 and "already booked" in again.get_json()["error"]
    [entry] = engine.audit.entries()[:1]
    assert (entry.action, entry.by, entry.target) == ("callback_scheduled", "sue", "CA-S")
    assert entry.detail == {"number": "+86•••••••0060", "senior": True}
    assert client.post("/api/v1/abandoned/CA-NONE/callback", headers=token).status_code == 404


def test_booking_needs_a_supervisor_and_the_csrf_token(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    abandon_two(engine, clock)
    assert client.post(BOOK).status_code in (400, 401)
    assert client.get("/api/v1/abandoned").status_code == 401
    sign_in(client, "a01")
    assert client.post(BOOK, headers={"X-CSRF-Token": session_csrf(client)}).status_code == 403
    client.post("/logout", data={"csrf_token": session_csrf(client)})
    sign_in(client, "sue")
    assert client.post(BOOK).status_code == 400  # no token
    assert engine.callbacks.pending() == []


def test_the_live_board_does_not_carry_the_list(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    abandon_two(engine, clock)
    sign_in(client, "sue")
    page = client.get("/supervisor").get_data(as_text=True)
    board = page.split('id="board-data">')[1].split("</script>")[0]
    assert "CA-S" not in board and "陈婉仪" not in board  # fetched apart, on demand
    assert 'id="abandoned"' in page and "abandoned.js" in page
