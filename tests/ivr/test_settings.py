import dataclasses
from pathlib import Path

import pytest

from ivr.settings import DEMO_AUTH_TOKEN, load_settings
from routing.exceptions import SettingsError
from routing.settings import load_engine_settings


def test_defaults_come_from_the_shipped_config() -> None:
    s = load_settings(environ={})
    assert s.hotline.senior_age == 60
    assert s.hotline.default_region == "CN"
    assert {"senior", "general"} <= set(s.queues)
    assert [t.key for t in s.ivr.topics] == ["1", "2", "3"]
    assert s.dialect_regions["广东省"] == "cantonese"


def test_environment_then_overrides_take_precedence() -> None:
    env = {
        "SILVERLINE_PORT": "6001",
        "REDIS_URL": "redis://h:1/0",
        "SILVERLINE__ROUTING__WRAP_UP_SECONDS": "7",
    }
    s = load_settings(environ=env)
    assert (s.server.port, s.redis.url, s.routing.wrap_up_seconds) == (6001, "redis://h:1/0", 7)
    s = load_settings({"server.port": 7000}, environ=env)
    assert s.server.port == 7000


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"server.port": "abc"}, "server.port"),
        ({"server.port": 70000}, "server.port"),
        ({"hotline.timezone": "Mars/Olympus"}, "hotline.timezone"),
        ({"fallback.number": "12345"}, "fallback.number"),
        ({"redis.url": "http://x"}, "redis.url"),
        ({"queues.senior.sl_percent": 0}, "queues.senior.sl_percent"),
        ({"business_hours.open": "8am"}, "business_hours.open"),
        ({"hotline.no_such_key": 1}, "hotline.no_such_key"),
        ({"twilio.validate_signatures": "maybe"}, "twilio.validate_signatures"),
        ({"twilio.amd_timeout": 60}, "twilio.amd_timeout"),
        ({"twilio.amd_speech_threshold": 900}, "twilio.amd_speech_threshold"),
        ({"twilio.amd_speech_end_threshold": 5001}, "twilio.amd_speech_end_threshold"),
        ({"twilio.amd_silence_timeout": 1999}, "twilio.amd_silence_timeout"),
        ({"ivr.senior_key": "1"}, "ivr.topics"),
        ({"routing.reconcile_after": 10}, "routing.reconcile_after"),
        (
            {"routing.wait_poll_seconds": 20, "routing.reconcile_after": 40},
            "routing.reconcile_after",
        ),
        (
            {"routing.reconcile_after": 600, "routing.max_call_seconds": 300},
            "routing.max_call_seconds",
        ),
        ({"routing.max_call_seconds": 90000}, "routing.max_call_seconds"),
        ({"privacy.audit_days": 0}, "privacy.audit_days"),
        ({"privacy.event_days": 4000}, "privacy.event_days"),
        ({"privacy.call_record_hours": 2}, "privacy.call_record_hours"),
        (
            {"privacy.call_record_hours": 6, "routing.max_call_seconds": 36000},
            "privacy.call_record_hours",
        ),
    ],
)
def test_a_bad_value_names_its_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError, match=f"'{key}'"):
        load_settings(overrides, environ={})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[hotline\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={"SILVERLINE_CONFIG": str(bad)})


def test_secrets_come_from_env_only_and_are_never_in_repr() -> None:
    s = load_settings(
        environ={
            "TWILIO_AUTH_TOKEN": "s3cr3t-token",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "SILVERLINE_PUBLIC_URL": "https://hotline.example.com",
        }
    )
    assert s.secrets.auth_token == "s3cr3t-token"
    assert not s.secrets.demo
    assert "s3cr3t" not in repr(s)
    with pytest.raises(SettingsError, match="'secrets.twilio_auth_token'"):
        load_settings({"secrets.twilio_auth_token": "x"}, environ={})


def test_demo_mode_uses_the_printed_dev_token() -> None:
    s = load_settings(environ={})
    assert s.secrets.demo and s.secrets.auth_token == DEMO_AUTH_TOKEN


def test_the_engine_reads_only_its_own_sections_of_the_same_file() -> None:
    """The engine's loader takes its sections and leaves the app's (server, Twilio, secrets)
    to the app's loader, which still rejects a bad value there naming the key."""
    env = {"TWILIO_AUTH_TOKEN": "t0ken", "SILVERLINE__SERVER__PORT": "0"}
    engine = load_engine_settings({"routing.wrap_up_seconds": 7}, environ=env)
    assert engine.routing.wrap_up_seconds == 7
    assert {"server", "twilio", "softphone", "secrets"}.isdisjoint(
        f.name for f in dataclasses.fields(engine)
    )
    with pytest.raises(SettingsError, match="server.port"):
        load_settings(environ=env)


ACCOUNT_ENV = {"TWILIO_AUTH_TOKEN": "s3cr3t-token", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32}


@pytest.mark.parametrize(
    "public_url",
    [
        "",
        "http://127.0.0.1:5000",
        "http://localhost:5000",
        "https://10.0.0.7",
        "https://192.168.1.20:8443",
        "http://[::1]:5000",
        "http://169.254.0.9",
    ],
)
def test_rest_credentials_need_a_public_url_twilio_can_reach(public_url: str) -> None:
    """Every URL handed to Twilio's cloud is built on twilio.public_url: unset, or a loopback
    or private address, every pull, call-back, visit and agent's leg would be unreachable."""
    with pytest.raises(SettingsError, match="'twilio.public_url'"):
        load_settings({"twilio.public_url": public_url}, environ=ACCOUNT_ENV)


def test_a_public_url_or_a_local_twilio_is_accepted_with_rest_credentials() -> None:
    ok = load_settings({"twilio.public_url": "https://hotline.example.com"}, environ=ACCOUNT_ENV)
    assert ok.public_base == "https://hotline.example.com"
    local = {"twilio.api_base_url": "http://127.0.0.1:5001"}  # the local Twilio: loopback is right
    assert load_settings(local, environ=ACCOUNT_ENV).public_base == "http://127.0.0.1:5000"
    assert load_settings(environ={}).secrets.demo  # demo mode: no REST to the cloud, no check
