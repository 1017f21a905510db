"""REDIS_URL=redis+sentinel://...: the client reaches the master through Sentinel and follows
a failover without a restart (real redis-server and sentinel processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ivr.runtime.logmask import without_credentials
from ivr.settings import load_settings
from routing.exceptions import SettingsError
from routing.store import SentinelUrl, connect, parse_sentinel_url
from tests.sentinels import LocalSentinels

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart


def test_a_sentinel_url_names_the_sentinels_the_master_the_database_and_the_password() -> None:
    found = parse_sentinel_url("redis+sentinel://:s%40cret@10.0.0.1:26379,sentinel-b:26380/main/2")
    assert found == SentinelUrl(
        (("10.0.0.1", 26379), ("sentinel-b", 26380)), "main", 2, None, "s@cret", None
    )
    plain = parse_sentinel_url("redis+sentinel://[::1]:26379/main?sentinel_password=x")
    assert plain == SentinelUrl((("::1", 26379),), "main", 0, None, None, "x")


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://10.0.0.1:26379",  # no master name
        "redis+sentinel://10.0.0.1/main",  # no port
        "redis+sentinel://10.0.0.1:26379,/main",  # an empty host
        "redis+sentinel://10.0.0.1:26379/main/db0",
        "redis+sentinel://10.0.0.1:99999/main",
    ],
)
def test_a_malformed_sentinel_url_is_refused_with_the_form(url: str) -> None:
    with pytest.raises(SettingsError, match=r"redis\+sentinel://\[:password@\]host:port"):
        connect(url)


def test_the_settings_take_a_sentinel_url_and_the_banner_hides_its_passwords() -> None:
    url = "redis+sentinel://:hunter2@10.0.0.1:26379/main/0?sentinel_password=hunter3"
    settings = load_settings(environ={"REDIS_URL": url})
    assert settings.redis.url == url
    shown = without_credentials(url)
    assert "hunter2" not in shown and "hunter3" not in shown


def test_a_sentinel_url_with_the_cluster_option_is_refused() -> None:
    with pytest.raises(SettingsError, match="redis.cluster"):
        connect("redis+sentinel://10.0.0.1:26379/main", cluster=True)


@pytest.fixture(params=["", "s3cret@pw"], ids=["no password", "a password"])
def sentinels(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalSentinels]:
    made = LocalSentinels(tmp_path, password=request.param)
    made.start()
    yield made
    made.stop()


def test_the_client_follows_the_master_s_loss_without_a_new_client(
    sentinels: LocalSentinels,
) -> None:
    client = connect(sentinels.url, socket_timeout=5.0)
    watch = sentinels.sentinel_client(1).pubsub(ignore_subscribe_messages=True)
    try:
        client.set("before", "1")
        old = sentinels.master_port()
        with sentinels.data_client(old) as master:
            assert master.get("before") == "1"  # it went to the master
            # replication is asynchronous: a write the replicas have not taken dies with the
            # master (seen once: "before" missing on the new master). WAIT until every replica
            # has it, so that this test is of the client following the switch, not of the race.
            replicas = int(master.info("replication")["connected_slaves"])
            assert replicas >= 1 and master.wait(replicas, 5000) == replicas
        watch.subscribe("+switch-master")
        sentinels.master.kill()
        new = switched(watch, sentinels)
        assert new != old and new == sentinels.master_port()
        client.set("after", "2")  # the same client, no restart
        with sentinels.data_client(new) as master:
            assert master.get("after") == "2" and master.get("before") == "1"
            assert master.info("replication")["role"] == "master"
    finally:
        watch.close()
        client.close()


def switched(watch: redis.client.PubSub, sentinels: LocalSentinels, within_s: float = 30.0) -> int:
    """Block until a sentinel announces the new master (+switch-master); return its port."""
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        message = watch.get_message(timeout=left)  # None for the subscription's own reply
        if message is not None and message["type"] == "message":
            return int(message["data"].split()[-1])
    # what the sentinels said, for the next reader: one failover in a fresh clone's CI never
    # came (2026-12-07), in a run that passed everywhere else
    said = "".join(line for s in sentinels.sentinels for line in s.log[-15:])
    raise AssertionError(f"no +switch-master within {within_s} s; the sentinels said:\n{said}")
