"""An open line over HTTP: `silverline serve` in demo mode, its local Twilio, and `silverline
call --url`, with no console open (issue 37).

The ticker places a01's line by itself; the senior hears a01 once a01 has heard who is calling
(the whisper, announced before the caller's answer is sent), which is what the engine records;
the virtual agent ends the conversation by taking the caller off, and the line stays.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ivr.simulator.core.switch import CALLBACK_JITTER_S
from tests.demo_served import A01, demo, demo_engine, within
from tests.helpers.people import DEMO_SENIOR
from tests.served import WITHIN_S

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

WHISPER_S = 1.0  # "老年来电。" at the local Twilio's pace, 0.2 s a character
TALK_S = 2.0
AGREE_S = 0.3  # the engine's clock reads the webhooks' arrival: HTTP and a beat apart


def _call(url: str, redis_url: str, local_port: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
    env |= {"REDIS_URL": redis_url, "SILVERLINE__TWILIO__LOCAL_PORT": str(local_port)}
    command = [str(Path(sys.executable).parent / "silverline"), "call", DEMO_SENIOR, "--url", url]
    command += ["--talk", str(TALK_S), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=WITHIN_S)
    assert done.returncode == 0, done.stdout + done.stderr
    out: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return out


def test_call_url_hears_a01_on_the_open_line_when_recorded_and_a01_keeps_the_line(
    redis_url: str, tmp_path: Path
) -> None:
    engine = demo_engine(redis_url)
    engine.agents.save(dataclasses.replace(A01, persistent=True))
    with demo(redis_url, tmp_path) as (url, local_port):
        # nobody signs a01 in: the ticker places the line, a01's phone takes it
        within(WITHIN_S, lambda: engine.agents.state("a01").open_line)
        line = engine.agents.state("a01").open_line

        out = _call(url, redis_url, local_port)
        assert out["errors"] == [] and out["status"] == "completed", out
        heard = [(x["party"], x["kind"], x["text"]) for x in out["transcript"]]
        # the caller hears a01 once a01 has heard who is calling, not over the whisper
        tth = out["time_to_human_s"]
        assert WHISPER_S - 0.1 <= tth <= 1.5, heard
        assert ("agent", "say", "老年来电。") in heard
        # what the engine records is when the caller heard a01, as it hears of it: the room's
        # join event is delivered up to CALLBACK_JITTER_S late (docs/real-network.md), so the
        # figure is never shorter than what the caller lived, and at most that much longer
        senior = engine.stats.day()["all"]["senior"]
        assert senior.connected == 1
        recorded = senior.tth_ms / 1000
        assert tth - AGREE_S <= recorded <= tth + CALLBACK_JITTER_S + AGREE_S, (recorded, tth)
        # a01 ended the conversation by taking the caller off: the line is the same leg
        assert ("caller", "event", "hung up (agent ended the call)") in heard, heard[-8:]
        assert engine.agents.state("a01").open_line == line
        within(WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
        assert engine.agents.state("a01").open_line == line
