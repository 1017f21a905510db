"""The demo as production runs: gunicorn and the local Twilio, two processes, over real sockets.

`silverline serve` in demo mode starts `silverline twilio-local` beside itself and points its
REST client at it; `silverline call --url` asks the local Twilio to place the call. So every
call crosses both HTTP legs production has: Twilio's webhooks to the app, the app's REST
requests to Twilio. Each wait below is bounded and reads what a process writes or answers;
nothing sleeps.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ivr.runtime.embedded import free_port
from ivr.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.core.switch import CALLBACK_JITTER_S
from ivr.simulator.local import LocalTwilio
from tests.demo_served import demo, demo_engine, within
from tests.helpers.people import DEMO_SENIOR
from tests.served import WITHIN_S, Output, sign_in

# real servers and processes (`make unit` runs it apart), two minutes: handed out first
pytestmark = [pytest.mark.wall_clock, pytest.mark.slow]

GREETING_S = 7.0  # the senior's greeting at the senior pace (docs/time-to-human.md)
FREED_WITHIN_S = 10.0


def _env(redis_url: str, local_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
    return env | {"REDIS_URL": redis_url, "SILVERLINE__TWILIO__LOCAL_PORT": str(local_port)}


class Command:
    """A `silverline` command in a process of its own; its output read as it is written."""

    def __init__(self, args: list[str], env: dict[str, str], *, merged: bool = False) -> None:
        command = [str(Path(sys.executable).parent / "silverline"), *args]
        err = subprocess.STDOUT if merged else subprocess.PIPE
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        self.output = Output(self.proc)
        self.lines = self.output.lines

    def until(self, text: str) -> float:
        """Block until a line holding `text` is printed; the monotonic time it came."""
        deadline = time.monotonic() + WITHIN_S
        while (left := deadline - time.monotonic()) > 0:
            line = self.output.queue.get(timeout=left)
            if line is None:
                break
            if text in line:
                return time.monotonic()
        raise AssertionError(f"no {text!r} in {self.lines}")

    def kill(self) -> None:
        """SIGKILL it (what a killed terminal or an OOM does) and close its pipes."""
        self.proc.kill()
        self.close()

    def close(self) -> None:
        self.proc.wait(timeout=WITHIN_S)
        self.output.drainer.join(timeout=WITHIN_S)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _at(line: str) -> float:
    found = re.match(r"\[(\d+):(\d+\.\d)\]", line)
    assert found, line
    return int(found.group(1)) * 60 + float(found.group(2))


def test_a_demo_call_rings_the_agent_while_the_greeting_plays_and_a_killed_caller_frees_them(
    redis_url: str, tmp_path: Path
) -> None:
    engine = demo_engine(redis_url)
    with demo(redis_url, tmp_path) as (url, local):
        env = _env(redis_url, local)
        call = Command(["call", DEMO_SENIOR, "--url", url, "--talk", "600"], env)
        printed_ring = call.until("ringing client:a01")
        printed_connect = call.until("connected to client:a01")
        # each line printed as it happens: the ring while the greeting plays, not with the
        # connection (the agent answers after 3 s, then hears the one-second whisper)
        assert printed_connect - printed_ring > 3.0
        lines = call.lines
        rung = next(_at(x) for x in lines if "ringing client:a01" in x)
        connected = next(_at(x) for x in lines if "connected to client:a01" in x)
        assert any("joined conference" in x for x in lines)  # the conference path, over REST
        assert rung < 1.0 < GREETING_S  # rung while the greeting plays, not after it
        assert connected <= 4.6  # the agent answers after 3 s; the whisper takes a second
        # the engine hears of the connection by the room's start event, delivered up to
        # CALLBACK_JITTER_S after it happened (docs/real-network.md)
        within(CALLBACK_JITTER_S + 0.5, lambda: engine.agents.state("a01").state == "on_call")

        call.kill()  # killed outright: nothing can tell the local Twilio but silence
        took = within(FREED_WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
        assert took < FREED_WITHIN_S
        snapshot = engine.router.snapshot()
        assert all(q.waiting == 0 for q in snapshot.queues.values())


def test_with_the_local_twilios_rest_api_down_a_call_takes_the_classic_path_to_the_agent(
    redis_url: str, tmp_path: Path
) -> None:
    """A REST outage: the server's REST requests find nobody, the webhooks still come."""
    engine = demo_engine(redis_url)
    dead, local = free_port(), free_port()
    elsewhere = {"SILVERLINE__TWILIO__API_BASE_URL": f"http://127.0.0.1:{dead}"}
    with demo(redis_url, tmp_path, elsewhere) as (url, _):
        env = _env(redis_url, local)
        twilio = Command(["twilio-local", "--port", str(local), "--app-url", url], env, merged=True)
        try:
            twilio.until("local Twilio listening on")
            call = Command(["call", DEMO_SENIOR, "--url", url, "--answer-after", "0"], env)
            call.until("connected to client:a01")
            lines = call.lines
            assert not any("conference" in x for x in lines)  # the classic path: <Dial>
            rung = next(_at(x) for x in lines if "ringing client:a01" in x)
            assert rung >= GREETING_S  # rung only once the greeting has played
            call.proc.send_signal(signal.SIGTERM)  # a timeout's kill: the caller hangs up
            call.close()
            took = within(FREED_WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
            assert took < 2.0  # at once: no lease to run out
        finally:
            twilio.proc.terminate()
            twilio.close()


def _finished(call: Command) -> dict[str, Any]:
    """The `--json` a `call` command prints at its end."""
    call.close()
    assert call.proc.returncode == 0, call.lines
    return dict(json.loads(call.lines[-1]))


def test_a_rest_outage_of_the_local_twilio_sends_callers_the_classic_way_until_it_is_back(
    redis_url: str, tmp_path: Path
) -> None:
    """`make run`'s two processes; the local Twilio's REST API goes down (503, as Twilio's
    20503), its webhooks still come: callers take the classic path (docs/time-to-human.md:
    "Without REST the classic order stays"), and the conference path once it is back."""
    engine = demo_engine(redis_url)
    with demo(redis_url, tmp_path) as (url, local_port):
        env = _env(redis_url, local_port)
        local = LocalTwilio(f"http://127.0.0.1:{local_port}", DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        quick = ["--answer-after", "0", "--talk", "1", "--json"]

        local.set_rest(down=True)
        down = _finished(Command(["call", DEMO_SENIOR, "--url", url, *quick], env))
        said = [x["text"] for x in down["transcript"]]
        assert "connected to client:a01" in said
        assert not any("conference" in x for x in said)  # <Dial>: no room, no REST
        rung = next(x["at"] for x in down["transcript"] if x["text"] == "ringing client:a01")
        assert rung >= GREETING_S  # the greeting first, then the agent
        assert down["status"] == "completed" and not down["errors"]

        within(FREED_WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
        engine.router.set_agent_state("a01", "available")
        local.set_rest(down=False)
        back = _finished(Command(["call", DEMO_SENIOR, "--url", url, *quick], env))
        said = [x["text"] for x in back["transcript"]]
        assert any(x.startswith("joined conference") for x in said)
        assert back["time_to_human_s"] is not None and back["time_to_human_s"] < 2.0
        snapshot = engine.router.snapshot()
        assert all(q.waiting == 0 for q in snapshot.queues.values())


def test_simulate_url_has_the_local_twilio_place_its_callers_so_the_conference_path_runs(
    redis_url: str, tmp_path: Path
) -> None:
    engine = demo_engine(redis_url)
    engine.router.set_agent_state("a01", "offline")  # the run's temporary agents answer
    with demo(redis_url, tmp_path) as (url, local_port):
        args = ["simulate", "--url", url, "--calls", "3", "--rate", "2", "--agents", "3"]
        args += ["--senior-share", "1", "--aht", "16", "--answer-after", "0", "--json"]
        run = Command(args, _env(redis_url, local_port))
        run.close()
        assert run.proc.returncode == 0, run.lines
        seniors = json.loads(run.lines[-1])["classes"]["senior"]
        assert seniors["offered"] == seniors["answered"] == 3
        # rung by REST while the greeting plays: connected well before it ends
        assert seniors["time_to_human_p90_s"] < GREETING_S
        assert engine.stats.totals()["all"]["senior"].answered == 3  # the server's figures
        assert [a.id for a in engine.agents.all()] == ["a01"]  # the temporary agents left
        assert all(q.waiting == 0 for q in engine.router.snapshot().queues.values())


def test_a_simulate_url_run_killed_outright_leaves_no_agent_to_answer_the_next_callers(
    redis_url: str, tmp_path: Path
) -> None:
    """SIGKILL skips the run's clean-up: its callers hang up when its session lapses, and
    the next run removes its temporary agents, which the local Twilio's phones would answer."""
    engine = demo_engine(redis_url)
    engine.router.set_agent_state("a01", "offline")
    with demo(redis_url, tmp_path) as (url, local_port):
        env = _env(redis_url, local_port)
        args = ["simulate", "--url", url, "--rate", "2", "--agents", "2", "--senior-share", "1"]
        args += ["--aht", "600", "--answer-after", "0", "--json"]
        killed = Command([*args, "--calls", "40"], env, merged=True)
        killed.until("temporary agents")
        within(WITHIN_S, lambda: engine.router.snapshot().queues["senior"].waiting > 0)
        killed.kill()
        assert any(a.id.startswith("sim") for a in engine.agents.all())

        def nobody_waits() -> bool:
            return all(q.waiting == 0 for q in engine.router.snapshot().queues.values())

        within(FREED_WITHIN_S, nobody_waits)  # the session lapsed: its callers hung up
        after = Command([*args, "--calls", "1", "--aht", "16"], env)
        after.close()
        assert after.proc.returncode == 0, after.lines
        assert [a.id for a in engine.agents.all()] == ["a01"]


class Console:
    """The agent console's phone as the page drives it: POST /agent/phone, signed in."""

    def __init__(self, port: int, name: str) -> None:
        self._port = port
        self._cookie = sign_in(port, name)
        web = http.client.HTTPConnection("127.0.0.1", port, timeout=WITHIN_S)
        web.request("GET", "/agent", headers={"Cookie": f"silverline_session={self._cookie}"})
        page = web.getresponse().read().decode()
        web.close()
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert found
        self._csrf = found.group(1)

    def press(self, button: str, sid: str = "") -> tuple[int, dict[str, Any]]:
        web = http.client.HTTPConnection("127.0.0.1", self._port, timeout=WITHIN_S)
        headers = {
            "Cookie": f"silverline_session={self._cookie}",
            "X-CSRF-Token": self._csrf,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        web.request("POST", "/agent/phone", urlencode({"button": button, "sid": sid}), headers)
        res = web.getresponse()
        body = json.loads(res.read())
        web.close()
        return res.status, body


def test_the_consoles_phone_rings_when_the_agents_leg_is_placed_and_a_click_answers_at_once(
    redis_url: str, tmp_path: Path
) -> None:
    engine = demo_engine(redis_url)
    with demo(redis_url, tmp_path) as (url, local_port):
        console = Console(int(url.rsplit(":", 1)[1]), "a01")
        status, state = console.press("on")
        assert status == 200 and state["local"] and state["ringing"] is None
        local = LocalTwilio(f"http://127.0.0.1:{local_port}", DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        caller = local.place(VirtualCaller(DEMO_SENIOR, random.Random(), patience_s=600), "console")
        ringing: list[str] = []

        def rings() -> bool:
            ringing.append(console.press("on")[1]["ringing"] or "")
            return bool(ringing[-1])

        within(WITHIN_S, rings)
        leg = local.call(ringing[-1])
        assert leg["to"] == "client:a01" and leg["status"] == "ringing"
        assert engine.agents.state("a01").state == "offered"
        assert console.press("answer", caller["sid"])[0] == 409  # not the agent's leg: refused

        clicked = time.monotonic()
        assert console.press("answer", leg["sid"])[0] == 200
        within(WITHIN_S, lambda: local.call(caller["sid"])["bridged_at"] is not None)
        connected_after = time.monotonic() - clicked
        assert connected_after < 2.0  # the click, then the one-second whisper, then the caller
        within(CALLBACK_JITTER_S + 0.5, lambda: engine.agents.state("a01").state == "on_call")

        assert console.press("hangup", leg["sid"])[0] == 200
        within(FREED_WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
        local.leave("console")
