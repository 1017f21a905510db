"""`silverline twilio setup` against an account on the offline Twilio, over HTTP."""

from __future__ import annotations

import logging
import re

import pytest
from click.testing import CliRunner

from app import cli
from ivr.simulator.core.switch import Simulator
from tests.cli.conftest import HOTLINE, run

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

PUBLIC = "https://hotline.example"
SETUP = ("twilio", "setup", "--number", HOTLINE, "--public-url", PUBLIC)


def exported(output: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(\S+)$", output, re.M))


def untouched(sim: Simulator) -> bool:
    number = sim.numbers[HOTLINE]
    return (
        number.voice_url == "http://old.example/voice"
        and not sim.account.keys
        and not sim.account.applications
    )


def test_a_dry_run_prints_the_exact_changes_and_changes_nothing(
    runner: CliRunner, twilio_account: Simulator
) -> None:
    out = run(runner, *SETUP, "--dry-run")
    assert out.splitlines() == [
        "would change  +8695519 voice_url: http://old.example/voice -> "
        "https://hotline.example/voice/incoming",
        "would change  +8695519 voice_fallback_url: http://old.example/fb -> "
        "https://hotline.example/voice/fallback",
        "would change  +8695519 status_callback: (none) -> https://hotline.example/voice/status",
        'would change  API key: (none) -> create "Silverline softphone"',
        'would change  TwiML App: (none) -> create "Silverline softphone" -> '
        "https://hotline.example/voice/softphone-line",
        "dry run: nothing changed",
    ]
    assert untouched(twilio_account)


def test_setup_points_the_number_here_creates_key_and_app_and_a_second_run_changes_nothing(
    runner: CliRunner,
    twilio_account: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    out = run(runner, *SETUP)
    number = twilio_account.numbers[HOTLINE]
    assert number.voice_url == f"{PUBLIC}/voice/incoming"
    assert number.fallback_url == f"{PUBLIC}/voice/fallback"
    assert number.status_callback == f"{PUBLIC}/voice/status"
    env = exported(out)
    (key,) = twilio_account.account.keys.values()
    (app,) = twilio_account.account.applications.values()
    assert env == {
        "SILVERLINE_PUBLIC_URL": PUBLIC,
        "SILVERLINE__TWILIO__CALLER_ID": HOTLINE,
        "TWILIO_API_KEY_SID": key.sid,
        "TWILIO_API_KEY_SECRET": key.secret,
        "TWILIO_TWIML_APP_SID": app.sid,
    }
    # the softphone's outgoing call (its open line) and that call's end
    assert app.voice_url == f"{PUBLIC}/voice/softphone-line"
    assert app.status_callback == f"{PUBLIC}/voice/open-line-status"
    assert "shown this once" in out
    assert key.secret not in caplog.text  # printed, never logged (twilio-python logs requests)

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    again = run(runner, *SETUP)
    done = f"nothing to change: {HOTLINE} and the softphone are set up for {PUBLIC}"
    assert again.strip() == done
    assert len(twilio_account.account.keys) == 1 and len(twilio_account.account.applications) == 1


def test_the_app_is_found_again_without_its_sid_in_the_environment(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = exported(run(runner, *SETUP))
    for name in ("TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"):
        monkeypatch.setenv(name, env[name])
    again = run(runner, *SETUP)
    assert "change" not in again.replace("nothing to change", "")
    assert exported(again)["TWILIO_TWIML_APP_SID"] == env["TWILIO_TWIML_APP_SID"]
    assert len(twilio_account.account.applications) == 1


def test_an_app_set_up_before_open_lines_is_pointed_at_the_softphone_line(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = exported(run(runner, *SETUP))
    (app,) = twilio_account.account.applications.values()
    app.voice_url, app.status_callback = f"{PUBLIC}/voice/incoming", ""  # an earlier set-up's
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = run(runner, *SETUP, "--dry-run")
    assert f"TwiML App {app.sid} voice_url: {PUBLIC}/voice/incoming -> " in out
    assert app.voice_url == f"{PUBLIC}/voice/incoming"
    run(runner, *SETUP)
    assert (app.voice_url, app.status_callback) == (
        f"{PUBLIC}/voice/softphone-line",
        f"{PUBLIC}/voice/open-line-status",
    )
    assert len(twilio_account.account.applications) == 1  # updated, not a second one
    assert run(runner, *SETUP).startswith("nothing to change")


def failed(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    return result.output


def test_a_number_the_account_does_not_own_is_refused(
    runner: CliRunner, twilio_account: Simulator
) -> None:
    out = failed(runner, "twilio", "setup", "--number", "+8695500", "--public-url", PUBLIC)
    assert "the account does not own +8695500" in out and "nothing was changed" in out
    assert untouched(twilio_account)


@pytest.mark.parametrize(
    "url", ["http://hotline.example", "https://127.0.0.1:5000", "https://x.example/?a=1", ""]
)
def test_a_public_url_twilio_cannot_use_is_refused(
    runner: CliRunner, twilio_account: Simulator, url: str
) -> None:
    out = failed(runner, "twilio", "setup", "--number", HOTLINE, "--public-url", url)
    assert "--public-url" in out
    assert untouched(twilio_account)


def test_a_key_the_account_may_not_create_leaves_everything_as_it_was(
    runner: CliRunner, twilio_account: Simulator
) -> None:
    twilio_account.account.refused["create_key"] = (401, 20003, "Authenticate")
    out = failed(runner, *SETUP)
    assert "Twilio refused an API key (not permitted with these credentials)" in out
    assert untouched(twilio_account)


def test_a_number_update_refused_deletes_the_key_and_app_just_created(
    runner: CliRunner, twilio_account: Simulator
) -> None:
    twilio_account.account.refused["update_number"] = (400, 21405, "Cannot set VoiceFallbackUrl")
    out = failed(runner, *SETUP)
    assert "Twilio refused number +8695519" in out and "nothing was changed" in out
    assert untouched(twilio_account)


def test_without_credentials_it_says_which_to_set(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    assert "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in failed(runner, *SETUP)


def test_wrong_credentials_are_named(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    out = failed(runner, *SETUP)
    assert "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN" in out and "error 20003" in out
    assert untouched(twilio_account)
