"""What the server says and where it listens at start-up: no password in any URL it prints or
logs, and demo mode (no TWILIO_AUTH_TOKEN) on loopback only unless asked for by name."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.runtime import logmask
from ivr.runtime.demo import check_demo_host
from ivr.runtime.server import banner, run
from ivr.settings import load_settings
from routing.exceptions import SettingsError

BASE = "http://127.0.0.1:5000"
SECRET = "hunter2-redis-secret"


def test_the_banner_hides_the_redis_password() -> None:
    settings = load_settings(environ={"REDIS_URL": f"redis://:{SECRET}@db.internal:6379/0"})
    shown = banner(settings, BASE)
    assert SECRET not in shown
    assert "redis://:***@db.internal:6379/0" in shown


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@db:6379/0",
        f"rediss://silverline:{SECRET}@db:6380/0",
        f"unix:///run/redis.sock?db=0&password={SECRET}",
    ],
)
def test_no_log_line_carries_a_password_in_a_url(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    logmask.install()
    with caplog.at_level(logging.WARNING, logger="silverline"):
        logging.getLogger("silverline").warning("could not reach %s", url)
    [record] = caplog.records
    assert SECRET not in record.getMessage() and "***" in record.getMessage()


@pytest.mark.parametrize("host", ["0.0.0.0", "", "10.1.2.3", "::", "hotline.example.com"])
def test_demo_mode_refuses_to_listen_beyond_loopback(host: str) -> None:
    settings = load_settings({"server.host": host}, environ={})
    with pytest.raises(SettingsError, match="SILVERLINE_DEMO=1") as refused:
        check_demo_host(settings)
    assert "server.host" in str(refused.value) and "TWILIO_AUTH_TOKEN" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_demo_mode_listens_on_loopback(host: str) -> None:
    check_demo_host(load_settings({"server.host": host}, environ={}))


def test_make_run_s_defaults_start_demo_mode_and_say_so() -> None:
    settings = load_settings(environ={})
    check_demo_host(settings)  # 127.0.0.1 by default
    shown = banner(settings, BASE)
    assert "DEMO MODE" in shown.splitlines()[1] and "Loopback only" in shown


@pytest.mark.parametrize(
    "environ",
    [{"SILVERLINE_DEMO": "1"}, {"TWILIO_AUTH_TOKEN": "a-real-token"}],
)
def test_demo_beyond_loopback_when_asked_for_and_a_real_token_anywhere(
    environ: dict[str, str],
) -> None:
    settings = load_settings({"server.host": "0.0.0.0"}, environ=environ)
    check_demo_host(settings)
    shown = banner(settings, "http://0.0.0.0:5000")
    assert ("ON THE NETWORK" in shown) == ("SILVERLINE_DEMO" in environ)


def test_serve_refuses_before_starting_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_AUTH_TOKEN", "SILVERLINE_DEMO", "SILVERLINE_HOST"):
        monkeypatch.delenv(name, raising=False)

    def create_app(*args: object, **kwargs: object) -> object:
        raise AssertionError("the app (and its Redis) must not be started")

    with pytest.raises(SettingsError, match="server.host"):
        run(create_app, {"server.host": "0.0.0.0"})


def test_the_serve_command_names_the_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
    env["SILVERLINE__REDIS__DATA_DIR"] = str(tmp_path / "redis")  # never reached
    command = [str(Path(sys.executable).parent / "silverline"), "serve", "--host", "0.0.0.0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "SILVERLINE_DEMO=1" in done.stderr and "server.host" in done.stderr
    assert not (tmp_path / "redis").exists()
