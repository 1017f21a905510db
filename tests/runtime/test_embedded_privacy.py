"""The embedded Redis keeps its data from other local users: a 0700 folder of 0600 files, and a
password whenever it listens on TCP (ivr/runtime/embedded.py)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ivr.runtime.embedded import EmbeddedRedis

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart


@pytest.fixture
def earlier_release(tmp_path: Path) -> Path:
    """A data folder as an earlier release left it: 0755, its append-only file 0644."""
    folder = tmp_path / "r"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    aof = folder / "appendonly.aof"
    aof.write_bytes(b"*3\r\n$3\r\nSET\r\n$4\r\nkept\r\n$3\r\nyes\r\n")
    aof.chmod(0o644)
    return folder


@pytest.fixture
def long_folder(tmp_path: Path) -> Path:
    """A folder whose socket path is too long for a Unix socket: the server listens on TCP."""
    folder = tmp_path / ("d" * 100)
    assert len(str(folder / "redis.sock")) > 108
    return folder


def running(folder: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(folder)
    server.ensure_running()
    try:
        yield server
    finally:
        server.stop()


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of the folder and of every folder and regular file in it."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
            found[str(path.relative_to(folder))] = stat.S_IMODE(info.st_mode)
    return found


def test_the_data_folder_and_its_files_are_the_owners_alone(earlier_release: Path) -> None:
    for server in running(earlier_release):
        client = redis.Redis.from_url(server.url)
        assert client.get("kept") == b"yes"  # the earlier file is read back
        client.set("new", "written")
        client.close()
        found = modes(earlier_release)
        assert {"appendonly.aof", "redis.conf", "redis.log", "start.lock"} <= set(found)
        wrong = {
            name: oct(mode)
            for name, mode in found.items()
            if mode != (0o700 if (earlier_release / name).is_dir() else 0o600)
        }
        assert wrong == {}


def test_on_tcp_the_server_refuses_anyone_without_its_password(long_folder: Path) -> None:
    for server in running(long_folder):
        port = int(server.portfile.read_text())
        stranger = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        with pytest.raises(redis.AuthenticationError):
            stranger.set("user:supervisor", "rewritten")
        stranger.close()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, password="guess").ping()
        owner = redis.Redis.from_url(server.url)  # the URL the app and the commands use
        assert owner.ping()
        owner.close()
        assert stat.S_IMODE(server.passwordfile.stat().st_mode) == 0o600
        assert stat.S_IMODE(long_folder.stat().st_mode) == 0o700
