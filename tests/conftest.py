"""Shared fixtures: one real redis-server per session, a flushed database per test, a clock."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from redis.cluster import RedisCluster

from app import create_app
from ivr import services
from ivr.runtime.redis_process import RedisProcess, installed_servers
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import FlaskTransport
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance import users
from routing.store import RedisClient, connect
from tests import profiles  # noqa: F401  (loads the Hypothesis profile first)
from tests.cluster import LocalCluster
from tests.helpers import CLUSTER, T0, fakeapp


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the files that hold a test marked slow first, in their collection order.

    `make test` hands files to its workers in this order (--dist loadfile
    --no-loadscope-reorder): the long simulations then start at once, side by side, and the
    short files fill in around them. Handed out late, as in xdist's default order (most tests
    first), the Erlang C file ran alone for the last ~15 of a 37-minute run on a loaded
    machine, the other worker idle.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: each file's order is kept


@pytest.fixture(autouse=True)
def cheap_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Users made by tests get scrypt with N = 2**10, not the app's 2**15: signing in checks
    with the method the stored hash names, so the code is the same and a test's sign-in costs
    3 ms instead of 0.1 s (691 hashes were 68 s of the suite's CPU). A test marked
    real_password_hashing keeps the app's method."""
    if not request.node.get_closest_marker("real_password_hashing"):
        monkeypatch.setattr(users, "PASSWORD_METHOD", "scrypt:1024:8:1")


@pytest.fixture(autouse=True)
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's apps keep their report spool (ivr/call/spool.py) in a directory of its own."""
    path = tmp_path / "spool"
    monkeypatch.setenv("SILVERLINE__SERVER__SPOOL_DIR", str(path))
    return path


def _collect_cluster_discovery_sockets() -> None:
    """Collect, quietly, the sockets redis-py's RedisCluster leaves to the garbage collector.

    Its NodesManager opens a connection to a startup node to read the topology and, in the
    redis-py this project installs, leaves it for the collector to close (redis/redis-py pull
    request #3803); a cluster run that refreshes its topology (a MOVED reply, a timeout under
    load) then ends with an unclosed socket in pytest's final collection, a ResourceWarning
    that the warnings-as-errors setting turns into a failed run. Every client the tests make is
    closed; these are the library's own, so only they are collected here, at the end.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a real redis-server (or a cluster) on free loopback ports; yield its URL."""
    workdir: Path = tmp_path_factory.mktemp("redis")
    if CLUSTER:
        cluster = LocalCluster(workdir)
        yield cluster.start()
        cluster.stop()
        _collect_cluster_discovery_sockets()
        return
    # No persistence at all: Redis's default snapshots (a fork and a write every minute of a
    # long simulation) only competed for the disk with the tests that fsync on purpose.
    server = RedisProcess(workdir, "--appendonly", "no", "--save", "")
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session server's URL, with its database flushed for this test."""
    if CLUSTER:
        nodes = RedisCluster.from_url(redis_server)
        nodes.flushall(target_nodes=RedisCluster.PRIMARIES)
        nodes.close()
    else:
        with redis.Redis.from_url(redis_server) as one:
            one.flushall()
    return redis_server


@pytest.fixture
def r(redis_url: str) -> Iterator[RedisClient]:
    """A decoding client on the flushed test database (a cluster client in cluster runs),
    closed after the test: a socket left to the garbage collector is a ResourceWarning, an
    error at the session's end.

    Its reads may take 5 s, not the webhook's 0.5 s: on a shared two-core machine a long
    statistical run saw a routing call wait longer than 0.5 s, and these tests assert
    behaviour, not latency (the benchmarks measure that)."""
    client = connect(redis_url, cluster=CLUSTER, socket_timeout=5.0)
    yield client
    client.close()


@pytest.fixture
def clock() -> FixedClock:
    """A clock that starts at T0 and only moves when a test advances it."""
    return FixedClock(T0)


@pytest.fixture
def app(redis_url: str, clock: FixedClock) -> Iterator[Flask]:
    """The app on the test Redis; its client is closed after the test (a socket left to the
    garbage collector is a ResourceWarning, an error, at whichever test collects it)."""
    made = create_app({"redis.url": redis_url, "redis.cluster": CLUSTER}, clock=clock)
    yield made
    services.of(made).engine.redis.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def engine(app: Flask) -> Engine:
    found: Engine = services.of(app).engine
    return found


@pytest.fixture
def fake_app() -> Flask:
    """The small test app of tests/helpers/fakeapp.py, which emits each TwiML feature."""
    return fakeapp.create()


@pytest.fixture
def sim(fake_app: Flask) -> Simulator:
    """A simulator whose numbers all point at the test app's /incoming."""
    s = Simulator(clock=FixedClock(T0), auth_token=fakeapp.TOKEN, seed=7)
    s.connect(FlaskTransport(fake_app))
    numbers = [v for k, v in vars(fakeapp).items() if k.isupper() and str(v).startswith("+")]
    for number in numbers:
        s.add_number(number, f"{fakeapp.BASE}/incoming", status_callback=f"{fakeapp.BASE}/status")
    return s


@pytest.fixture
def env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a `silverline` command run in-process: the test Redis, and no
    Twilio auth token (demo mode: webhooks signed with the demo token)."""
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    return {"REDIS_URL": redis_url}


@pytest.fixture(params=sorted(installed_servers()), ids=lambda major: f"redis{major}")
def redis_binary(request: pytest.FixtureRequest) -> str:
    """Each redis-server found here: the wheel's 6.2 and, where installed, Debian's 7."""
    found: str = installed_servers()[request.param]
    return found
