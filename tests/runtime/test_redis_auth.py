"""The app against a Redis that requires a password (the shipped binary has no TLS support)."""

from collections.abc import Iterator

import pytest

from app import create_app
from ivr.runtime.redis_process import RedisProcess
from tests.webhook_client import post, twiml


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    server = RedisProcess(tmp_path_factory.mktemp("redis-auth"), "--requirepass", "s3cret pass")
    server.start()
    yield server.port
    server.stop()


def test_a_password_in_the_url_is_used(password_server: int) -> None:
    url = f"redis://:s3cret%20pass@127.0.0.1:{password_server}/0"
    res = create_app({"redis.url": url}).test_client().get("/healthz")
    assert res.status_code == 200


def test_a_wrong_password_is_unhealthy_but_callers_still_reach_a_person(
    password_server: int,
) -> None:
    url = f"redis://:wrong@127.0.0.1:{password_server}/0"
    client = create_app({"redis.url": url}).test_client()
    assert client.get("/healthz").status_code == 503
    root = twiml(
        post(client, "/voice/fallback", {"CallSid": "CA" + "2" * 32, "From": "+8613800138000"})
    )
    assert root.find("Dial").text == "+861095500999"
