"""The report spool: kept on disk and fsynced, claimed by one worker, replayed, then removed.

Redis fails for real here: `CONFIG SET maxmemory 1` makes the test server refuse every write
(OOM) while reads and PING still answer, which is how a report can fail half-way through a
replay. tests/reliability/test_spool_restart.py kills a real server with reports kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from ivr import services
from ivr.call import spool as spool_module
from ivr.call.spool import (
    SUFFIX,
    Report,
    Spool,
    apply_reports,
    claim,
    keep_if_report,
    read,
    replay,
    spool_of,
)
from ivr.simulator.ledger import events, figures
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.webhook_client import BASE, post, twiml_of

SID = "CA" + "6" * 32
CALLER = {"CallSid": SID, "From": "+8613700000001"}


def report(n: int) -> Report:
    return Report("voice.status", "/voice/status", "", (("CallSid", f"CA{n}"),))


def files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*" + SUFFIX))


def on_call(client: FlaskClient, engine: Engine) -> None:
    """Agent a0 takes the caller's call (menu key 1), through the webhooks."""
    skills = frozenset({"policy"})
    engine.agents.save(Agent("a0", "a0", "client:a0", skills, ("mandarin",)))
    engine.router.set_agent_state("a0", "available")
    dialled = twiml_of(post(client, "/voice/menu?attempt=1", {**CALLER, "Digits": "1"}).text)
    assert dialled.find("Dial/Client").text == "a0"
    post(client, f"/voice/whisper?call={SID}&agent=a0", {"CallSid": "CA9"})
    assert _agent_state(engine) == "on_call"


def end_call(client: FlaskClient) -> None:
    """The two reports of the call's end, as Twilio sends them."""
    ended = post(client, "/voice/dial-result?agent=a0", {**CALLER, "DialCallStatus": "completed"})
    assert [v.tag for v in twiml_of(ended.text)] == ["Hangup"]  # the fallback answer
    post(client, "/voice/status", {**CALLER, "CallStatus": "completed"})


def _agent_state(engine: Engine) -> str:
    return engine.router.snapshot().agents["a0"].state


def _kinds(engine: Engine) -> list[str]:
    return [ev["kind"] for ev in events(engine) if ev.get("call") == SID]


def test_only_reports_that_redis_failed_are_kept_on_disk(app: Flask, spool_dir: Path) -> None:
    down = StoreUnavailable("Redis did not answer")
    with app.test_request_context("/voice/status", method="POST", data={"CallSid": "CA1"}):
        assert keep_if_report(app, down)
        assert not keep_if_report(app, ValueError("a bug, not an outage"))
    with app.test_request_context("/voice/menu", method="POST", data={"Digits": "1"}):
        assert not keep_if_report(app, redis.ConnectionError("refused"))
    assert len(spool_of(app)) == 1
    [kept] = files(spool_dir)
    assert read(kept) == [Report("voice.status", "/voice/status", "", (("CallSid", "CA1"),))]
    assert (kept.stat().st_mode & 0o777, spool_dir.stat().st_mode & 0o777) == (0o600, 0o700)


def test_a_report_round_trips_through_its_line() -> None:
    odd = Report("voice.dial_result", "/voice/dial-result", "agent=a0&x=%E4", (("k", "é\n"),))
    assert Report.from_line(odd.to_line()) == odd
    assert odd.to_line().count(b"\n") == 1


def test_the_reports_of_an_ended_call_are_kept_applied_once_and_removed(
    client: FlaskClient, engine: Engine, app: Flask, spool_dir: Path, r: RedisClient
) -> None:
    on_call(client, engine)
    r.config_set("maxmemory", 1)
    try:
        end_call(client)
        assert replay(app, BASE) == 0  # still refused: kept as they are
    finally:
        r.config_set("maxmemory", 0)
    [kept] = files(spool_dir)
    assert [x.endpoint for x in read(kept)] == ["voice.dial_result", "voice.status"]
    assert _agent_state(engine) == "on_call"
    assert replay(app, BASE) == 2
    assert files(spool_dir) == [] and len(spool_of(app)) == 0
    assert _agent_state(engine) in ("wrap_up", "available")
    assert _kinds(engine).count("completed") == 1


def test_a_worker_dead_mid_replay_leaves_its_file_and_a_second_replay_counts_nothing_twice(
    client: FlaskClient, engine: Engine, app: Flask, spool_dir: Path, r: RedisClient
) -> None:
    on_call(client, engine)
    r.config_set("maxmemory", 1)
    try:
        end_call(client)
    finally:
        r.config_set("maxmemory", 0)
    sealed = spool_of(app).seal()
    assert sealed is not None
    # The worker applies the first report, then dies: its lock goes, its file stays.
    assert apply_reports(app, BASE, read(sealed.path)[:1]) == 1
    sealed.release()
    assert replay(app, BASE) == 2  # the first report again, and the second
    assert files(spool_dir) == []
    assert _kinds(engine).count("completed") == 1
    after = figures(engine), _kinds(engine)
    # Each engine step is idempotent: applying every report yet again moves nothing.
    reports = [Report.from_line(x.to_line()) for x in _reports_of_the_end()]
    assert apply_reports(app, BASE, reports) == 2
    assert (figures(engine), _kinds(engine)) == after


def _reports_of_the_end() -> list[Report]:
    form = tuple(CALLER.items())
    return [
        Report(
            "voice.dial_result",
            "/voice/dial-result",
            "agent=a0",
            (*form, ("DialCallStatus", "completed")),
        ),
        Report("voice.status", "/voice/status", "", (*form, ("CallStatus", "completed"))),
    ]


def test_a_replay_cut_short_keeps_the_rest_in_order_ahead_of_newer_reports(
    client: FlaskClient, engine: Engine, app: Flask, spool_dir: Path, r: RedisClient
) -> None:
    on_call(client, engine)
    spool = spool_of(app)
    # First a report that needs no write (a ringing status changes nothing), then the end.
    spool.keep(
        Report("voice.status", "/voice/status", "", (*CALLER.items(), ("CallStatus", "ringing")))
    )
    for kept in _reports_of_the_end():
        spool.keep(kept)
    r.config_set("maxmemory", 1)
    try:
        assert replay(app, BASE) == 1  # the ringing status went; the dial result was refused
        spool.keep(report(7))  # newer, while the rest waits
    finally:
        r.config_set("maxmemory", 0)
    newer = spool.seal()
    assert newer is not None and read(newer.path) == [report(7)]
    [older] = [path for path in files(spool_dir) if path != newer.path]
    assert read(older) == _reports_of_the_end()  # rewritten without the one applied
    newer.release()
    applied: list[str] = []
    original = spool_module.apply

    def spy(app_: Flask, base: str, kept: Report) -> None:
        applied.append(kept.form[0][1])
        original(app_, base, kept)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spool_module, "apply", spy)
        assert replay(app, BASE) == 3
    assert applied == [SID, SID, "CA7"]  # the older file first, its order kept
    assert _agent_state(engine) in ("wrap_up", "available")


def test_a_live_workers_file_is_never_claimed_and_a_dead_ones_by_one_worker(
    spool_dir: Path,
) -> None:
    live, other = Spool(spool_dir), Spool(spool_dir)
    live.keep(report(1))
    [path] = files(spool_dir)
    assert claim(path) is None  # its worker holds the lock
    dead = live.seal()
    assert dead is not None
    dead.release()  # what the kernel does when the worker dies
    first = claim(path)
    assert first is not None
    assert claim(path) is None  # a second worker finds it taken
    first.remove()
    assert claim(path) is None and files(spool_dir) == []
    assert len(other) == 0


def test_a_torn_last_line_is_skipped_and_the_whole_reports_kept(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir)
    for n in range(2):
        spool.keep(report(n))
    sealed = spool.seal()
    assert sealed is not None
    with sealed.path.open("ab") as f:  # a writer killed in the middle of its write
        f.write(report(2).to_line()[:20])
    with caplog.at_level(logging.WARNING, "silverline.spool"):
        assert read(sealed.path) == [report(0), report(1)]
    assert "torn line" in caplog.text
    sealed.release()


def test_the_disk_file_and_the_memory_fallback_are_both_bounded(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir, capacity=2, max_bytes=len(report(0).to_line()))
    with caplog.at_level(logging.CRITICAL, "silverline.spool"):
        for n in range(5):
            spool.keep(report(n))
    assert len(spool) == 3  # one on disk, the two newest in memory
    [path] = files(spool_dir)
    assert read(path) == [report(0)]
    assert spool.take_memory() == [report(3), report(4)]
    assert "in-memory spool is full" in caplog.text
    assert caplog.text.count("could not write") == 4


def test_an_unwritable_spool_still_answers_the_fallback_and_keeps_the_report_in_memory(
    r: RedisClient, tmp_path: Path, caplog: pytest.LogCaptureFixture, redis_url: str
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way of the spool directory")
    app = create_app({"redis.url": redis_url, "server.spool_dir": str(blocked / "spool")})
    client = app.test_client()
    engine: Engine = services.of(app).engine
    on_call(client, engine)
    r.config_set("maxmemory", 1)
    try:
        with caplog.at_level(logging.CRITICAL, "silverline.spool"):
            end_call(client)  # answered with the fallback (asserted inside)
    finally:
        r.config_set("maxmemory", 0)
    assert "could not write a voice.dial_result report to the spool" in caplog.text
    assert len(spool_of(app)) == 2
    assert replay(app, BASE) == 2 and len(spool_of(app)) == 0
    assert _agent_state(engine) in ("wrap_up", "available")


def test_a_short_write_leaves_no_torn_line_in_front_of_the_next_report(spool_dir: Path) -> None:
    """A file-size limit makes the kernel write part of a report, as a full disk would."""
    import resource  # noqa: PLC0415
    import signal  # noqa: PLC0415

    spool = Spool(spool_dir)
    spool.keep(report(0))
    limit = len(report(0).to_line()) + 10
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        spool.keep(report(1))  # 10 bytes fit; the rest does not
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    spool.keep(report(2))
    sealed = spool.seal()
    assert sealed is not None
    assert read(sealed.path) == [report(0), report(2)]
    assert spool.take_memory() == [report(1)]
    sealed.release()
