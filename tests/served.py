"""`silverline serve` run as production runs it (gunicorn, its workers, real sockets), for tests."""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from tests.helpers.web import PASSWORD

BOOTED = re.compile(r"Booting worker with pid: (\d+)")
# Each wait below is for a line the server writes when it gets there; the bound only turns
# a server that never gets there into a failure (a loaded 2-core machine boots one in ~5 s).
WITHIN_S = 90.0
COOKIE = re.compile(r"silverline_session=([^;]+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Output:
    """A process's stdout, read as it is written: every line kept, and queued for waiters
    (None once the pipe ends)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self.queue.put(line)
        self.queue.put(None)


class Served:
    """`silverline serve` in a process group of its own; its log read as it is written."""

    def __init__(
        self, port: int, redis_url: str, spool: Path, env: Mapping[str, str] | None = None
    ) -> None:
        """Start it on `port` with `redis_url`; `env` adds or replaces environment variables."""
        given = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
        env |= {
            "REDIS_URL": redis_url,
            "SILVERLINE_HOST": "127.0.0.1",
            "SILVERLINE_PORT": str(port),
            "SILVERLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SILVERLINE__SERVER__SEED_DEMO": "false",
            "SILVERLINE__SERVER__SPOOL_DIR": str(spool),
            "SILVERLINE__BUSINESS_HOURS__OPEN": "00:00",  # open round the clock
            "SILVERLINE__BUSINESS_HOURS__CLOSE": "00:00",
            "SILVERLINE__TWILIO__LOCAL_PORT": "0",  # no local Twilio unless a test asks for one
        } | dict(given)
        command = [str(Path(sys.executable).parent / "silverline"), "serve"]
        # stdout too: a server that exits at start (the banner's checks) says why there
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output = Output(self.proc)

    @property
    def log(self) -> list[str]:
        return self.output.lines

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """Block until the server logs a line matching `pattern` (no polling: lines are pushed)."""
        deadline = time.monotonic() + WITHIN_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.output.queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError("the server exited:\n" + "".join(self.log[-40:]))
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no {pattern.pattern!r} in the log:\n" + "".join(self.log[-40:]))

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (no worker outlives its master)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.output.drainer.join(timeout=30)  # the pipe ends with the last process holding it
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def sign_in(port: int, name: str) -> str:
    """Sign in through the login form, as a browser does; return the session cookie."""
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=WITHIN_S)
    web.request("GET", "/login")
    page = web.getresponse()
    form = page.read().decode()
    first = COOKIE.search(page.headers["Set-Cookie"])
    token = CSRF.search(form)
    assert first and token
    body = urlencode({"name": name, "password": PASSWORD, "csrf_token": token.group(1)})
    headers = {
        "Cookie": f"silverline_session={first.group(1)}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    web.request("POST", "/login", body=body, headers=headers)
    signed = web.getresponse()
    signed.read()
    web.close()
    assert signed.status == 302, signed.status
    found = COOKIE.search(signed.headers["Set-Cookie"])
    assert found
    return found.group(1)
