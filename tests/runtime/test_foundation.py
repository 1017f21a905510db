import gc
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import redis
from flask.testing import FlaskClient

import app as app_module
from app import create_app
from ivr import services
from ivr.runtime.embedded import EmbeddedRedis
from ivr.runtime.server import _Gunicorn, banner
from ivr.settings import load_settings


def test_importing_the_app_starts_nothing() -> None:
    assert not hasattr(app_module, "app")
    assert callable(app_module.create_app)


def test_healthz_reports_redis_and_its_version(client: FlaskClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    body = res.get_json()
    assert body["redis"]["reachable"] is True
    assert body["redis"]["version"].count(".") == 2


def test_healthz_is_503_when_redis_is_unreachable() -> None:
    app = create_app({"redis.url": "redis://127.0.0.1:1/0", "redis.socket_timeout": 0.2})
    res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.get_json()["redis"]["reachable"] is False


def test_embedded_server_persists_and_recovers_from_a_killed_run(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "r")
    redis.Redis.from_url(first.acquire()).set("kept", "yes")
    assert first.release() is True  # last user out shuts it down
    assert not (tmp_path / "r" / "redis.sock").exists()

    second = EmbeddedRedis(tmp_path / "r")
    url = second.acquire()
    assert redis.Redis.from_url(url).get("kept") == b"yes"
    pid = int((tmp_path / "r" / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)  # a killed run leaves its pid file and socket behind

    third = EmbeddedRedis(tmp_path / "r")
    url = third.ensure_running()
    assert redis.Redis.from_url(url).get("kept") == b"yes"
    third.stop()
    second.release()  # its server is gone; releasing must still be safe


def test_one_server_for_every_user_and_the_last_one_stops_it(tmp_path: Path) -> None:
    a, b = EmbeddedRedis(tmp_path / "r"), EmbeddedRedis(tmp_path / "r")
    assert a.acquire() == b.acquire()
    pid = (tmp_path / "r" / "redis.pid").read_text()
    assert b.release() is False  # a still uses it
    assert (tmp_path / "r" / "redis.pid").read_text() == pid
    assert redis.Redis.from_url(a.url).ping()
    assert a.release() is True


def test_the_banner_says_when_the_hotline_is_closed_and_how_to_try_the_day_flow() -> None:
    settings = load_settings(environ={})
    base = "http://127.0.0.1:5000"
    night = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    day = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00
    assert "SILVERLINE__BUSINESS_HOURS__OPEN=00:00" in banner(settings, base, None, night)
    assert "closed" not in banner(settings, base, None, day)


def test_the_server_freezes_the_start_up_heap_before_it_forks(client: FlaskClient) -> None:
    # gunicorn's master calls load() once, with preload, before forking the workers.
    assert gc.get_freeze_count() == 0
    try:
        loaded = _Gunicorn(client.application, {"workers": 1}).load()
        assert loaded is client.application
        assert gc.get_freeze_count() > 10_000  # the app and the number metadata
    finally:
        gc.unfreeze()


def test_starting_the_app_moves_statistics_an_earlier_release_recorded(redis_url: str) -> None:
    old = redis.Redis.from_url(redis_url, decode_responses=True)
    old.hset("{sl:st}:total:senior", "s:offered", 12)
    app = create_app({"redis.url": redis_url})
    figures = services.of(app).engine.stats.totals()["senior"]["senior"]
    assert figures.offered == 12
    assert old.exists("{sl:st}:total:senior") == 0
