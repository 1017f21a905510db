"""Demo mode's local Twilio: `silverline twilio-local` started beside the server, stopped with it.

With no Twilio account the server would have no REST API, and every call would take the
classic path (greeting, then `<Dial>`), which production never runs while REST answers. The
local Twilio is Twilio's REST API and voice side on this machine (ivr/simulator/core/service.py),
so the demo runs the conference path, REST requests and webhooks both over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ivr.settings import Settings
from routing.exceptions import SettingsError

HOST = "127.0.0.1"
START_WITHIN_S = 30.0  # a loaded 2-core machine imports the app's modules in ~3 s


def wanted(settings: Settings) -> bool:
    """Demo mode, no REST API of its own configured, and a port for one."""
    t = settings.twilio
    return settings.secrets.demo and not t.api_base_url and t.local_port > 0


class LocalTwilioProcess:
    """The local Twilio as a child process; it also stops when this process is gone."""

    def __init__(self, settings: Settings) -> None:
        port = settings.twilio.local_port
        self.url = f"http://{HOST}:{port}"
        app_url = settings.twilio.base or f"http://{settings.server.host}:{settings.server.port}"
        self._owner = os.getpid()  # gunicorn's workers are forks: only the master stops it
        command = [
            str(Path(sys.executable).parent / "silverline"),
            "twilio-local",
            "--host",
            HOST,
            "--port",
            str(port),
            "--app-url",
            app_url,
            "--parent-pid",
            str(self._owner),
        ]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._wait_until_listening(port)

    def _wait_until_listening(self, port: int) -> None:
        deadline = time.monotonic() + START_WITHIN_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SettingsError(
                    f"the local Twilio could not start on port {port} (in use?): set "
                    "twilio.local_port (SILVERLINE__TWILIO__LOCAL_PORT) to a free port, or 0 "
                    "for none"
                )
            try:
                socket.create_connection((HOST, port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SettingsError(f"the local Twilio did not listen on port {port} within 30 s")

    def stop(self) -> None:
        """Stop it (from the process that started it only) and wait for it to go."""
        if os.getpid() != self._owner or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
