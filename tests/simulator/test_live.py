"""Against a live server: unique call sids per run, and `simulate --url` over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from app import cli as main
from app import create_app
from ivr import services
from ivr.cli import sim as cli_sim
from ivr.settings import load_settings
from ivr.simulator.core.documents import APPLICATION_ERROR
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import NO_ANSWER, HttpTransport, Reply
from ivr.simulator.live import LiveTraffic, live_simulator
from ivr.simulator.traffic import Plan, outcome
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.queues.agents import Agent
from tests.conftest import CLUSTER, T0
from tests.helpers import fakeapp

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

NUMBER = "+15550000001"
NUMBER_FROM = "+14155550100"


def _sids(unique_sids: bool = False) -> list[str]:
    """The sids a fresh simulator seeded 5 gives two calls and a queue."""
    sim = Simulator(clock=FixedClock(T0), seed=5, unique_sids=unique_sids)
    sim.add_number(NUMBER, "http://localhost/incoming")
    calls = [
        sim.place_call(VirtualCaller(f"+8613700000{n:03d}", sim.rng), NUMBER).sid for n in range(2)
    ]
    return [*calls, sim.queues.named("support", 0.0).sid]


def test_live_simulators_draw_new_sids_on_every_run() -> None:
    first, second = _sids(unique_sids=True), _sids(unique_sids=True)
    assert all(sid.startswith(("CA", "QU")) and len(sid) == 34 for sid in first + second)
    assert not set(first) & set(second)
    assert len(set(first)) == 3


def test_two_call_url_runs_never_share_a_call_sid() -> None:
    settings = load_settings()
    sids = []
    for _ in range(2):
        sim = live_simulator("http://127.0.0.1:5000", settings)
        sids.append(
            sim.place_call(VirtualCaller("+8613800138000", sim.rng), settings.twilio.caller_id).sid
        )
    assert sids[0] != sids[1]


def test_offline_simulators_with_one_seed_repeat_their_sids() -> None:
    assert _sids() == _sids()
    assert _sids() != _sids(unique_sids=True)


def test_a_finished_call_leaves_no_patience_timer_to_wait_for(sim: Simulator) -> None:
    """In real time `call --url` would otherwise sit until the caller's patience ran out."""
    sim.people.add_agent("client:alice", aht_s=5.0, answer_delay_s=(1.0, 1.0))
    caller = VirtualCaller(NUMBER_FROM, sim.rng, inputs=[Input(digits="2")], patience_s=600.0)
    leg = sim.place_call(caller, fakeapp.SUPPORT)
    sim.run()
    assert leg.bridged_at is not None and leg.ended_at is not None
    # the run ends once the call's last status callback is delivered (up to its delay after
    # the hang-up, callback_jitter_s), not when the caller's patience would have run out
    assert leg.ended_at <= sim.now() <= leg.ended_at + sim.callback_jitter_s < 600.0


def test_a_call_counts_as_answered_when_the_agent_picks_up_as_the_server_counts_it(
    sim: Simulator,
) -> None:
    """The server records `answered` when the whisper is fetched; the whisper then plays."""
    sim.people.add_agent("client:alice", aht_s=5.0, answer_delay_s=(3.0, 3.0))
    leg = sim.place_call(
        VirtualCaller(NUMBER_FROM, sim.rng, inputs=[Input(digits="2")]), fakeapp.SUPPORT
    )
    sim.run()
    agent_leg = next(x for x in sim.legs.values() if x.parent_sid == leg.sid)
    result = outcome(leg, "other")
    assert leg.routed_at is not None and leg.bridged_at is not None
    assert result.answered == agent_leg.answered_at == pytest.approx(leg.routed_at + 3.0)
    assert leg.bridged_at - result.answered > 4.0  # "Call from ..." spoken to the agent
    assert result.wait_s == pytest.approx(3.0)


@dataclass
class Server:
    url: str
    engine: Engine


@pytest.fixture
def server(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The app on the wall clock behind a werkzeug thread; the CLI reads the same settings."""
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("SILVERLINE_PUBLIC_URL", raising=False)
    env = {
        "REDIS_URL": redis_url,
        "SILVERLINE__REDIS__CLUSTER": str(CLUSTER).lower(),
        "SILVERLINE__BUSINESS_HOURS__OPEN": "00:00",  # open round the clock
        "SILVERLINE__BUSINESS_HOURS__CLOSE": "00:00",
        "SILVERLINE__ROUTING__WRAP_UP_SECONDS": "0",
        "SILVERLINE__ROUTING__WAIT_POLL_SECONDS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(clock=SystemClock())
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="live-sim-server", daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{http.server_port}", services.of(app).engine)
    finally:
        http.shutdown()
        thread.join(timeout=10)
        http.server_close()


def test_simulate_url_fills_the_servers_statistics_and_removes_its_agents(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_sim, "SAY_SECONDS_PER_CHAR", 0.0)  # prompts take no time
    own = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
    server.engine.agents.save(own)  # the server's own agent, offline: untouched by the run
    args = ["simulate", "--url", server.url, "--calls", "4", "--rate", "4", "--agents", "2"]
    args += ["--senior-share", "0.5", "--aht", "1", "--seed", "3", "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    classes = json.loads(res.stdout.splitlines()[-1])["classes"]
    keys = {"offered", "answered", "abandoned", "asa_s", "service_level", "max_wait_s", "p_wait"}
    keys |= {"time_to_human_s", "time_to_human_p90_s"}
    assert all(set(figures) == keys for figures in classes.values())
    assert classes["all"]["offered"] == 4 and classes["all"]["answered"] == 4
    assert classes["all"]["time_to_human_s"] > 0  # every call was put through
    assert classes["senior"]["offered"] > 0 and classes["other"]["offered"] > 0
    totals = server.engine.stats.totals()["all"]  # the server recorded every call
    for name in ("senior", "other", "all"):
        assert totals[name].offered == classes[name]["offered"]
        assert totals[name].answered == classes[name]["answered"]
    assert server.engine.agents.all() == [own]
    assert set(server.engine.agents.states()) <= {"a01"}
    assert server.engine.directory.occupied_buckets() == set()  # the seniors are gone too
    assert "removed the 2 temporary agents" in res.stderr


def test_simulate_url_cleans_up_when_interrupted(server: Server) -> None:
    plan = Plan(3, rate=20, agents=1, senior_share=1.0, aht_s=1, seed=1, answer_delay_s=(1, 1))
    interrupting = _Interrupting(HttpTransport(), at="/voice/whisper")
    sim = live_simulator(server.url, server.engine.settings, seconds_per_char=0.0)
    sim.connect(interrupting)
    traffic = LiveTraffic(sim, server.engine, plan)
    with pytest.raises(KeyboardInterrupt):
        traffic.run()
    assert traffic.agent_ids and traffic.problems == []
    assert server.engine.agents.all() == [] and server.engine.agents.states() == {}
    assert server.engine.directory.occupied_buckets() == set()
    routed = [sid for sid, leg in sim.legs.items() if leg.routed_at is not None]
    assert len(routed) == 3  # one offered to the agent, two waiting, when Ctrl-C came
    calls = [server.engine.router.call(sid) for sid in routed]
    assert all(info is not None and info.state == "gone" for info in calls), calls
    assert all(q.waiting == 0 for q in server.engine.router.snapshot().queues.values())


class _Interrupting:
    """Ctrl-C as the first request to `at` goes out (what a user does mid-run)."""

    def __init__(self, inner: HttpTransport, at: str) -> None:
        self.inner, self.at = inner, at

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        if self.at in url:
            raise KeyboardInterrupt
        return self.inner.send(method, url, form, headers)


def test_simulate_url_refuses_other_speeds_and_dead_servers(redis_url: str) -> None:
    args = ["simulate", "--calls", "1", "--rate", "1", "--agents", "1", "--senior-share", "0"]
    env = {"REDIS_URL": redis_url}
    for extra in (["--speed", "10"], ["--virtual"]):
        res = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9", *extra], env=env)
        assert res.exit_code == 2 and "real time" in res.output
    res = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"], env=env)
    assert res.exit_code == 1 and "no healthy Silverline server" in res.output


def test_call_url_to_a_dead_server_says_so_without_a_traceback(redis_url: str) -> None:
    args = ["call", "+8613800138000", "--url", "http://127.0.0.1:9"]
    res = CliRunner().invoke(main, args, env={"REDIS_URL": redis_url})
    assert res.exit_code == 1 and "no healthy Silverline server at http://127.0.0.1:9" in res.output
    assert "Traceback" not in res.output


def test_a_webhook_nobody_answers_is_twilios_11205_and_the_call_goes_on() -> None:
    # Over real HTTP a server that is down or went away mid-call is Twilio's "HTTP connection
    # failure": the fault is recorded, the fallback URL tried, else the caller hears the apology.
    dead = "http://127.0.0.1:9/voice/incoming"
    reply = HttpTransport(timeout=2).send("POST", dead, {"CallSid": "CA1"}, {})
    assert (reply.status, reply.error) == (NO_ANSWER, 11205)
    sim = Simulator(clock=FixedClock(T0), auth_token=fakeapp.TOKEN, seed=7)
    sim.connect(HttpTransport(timeout=2))
    sim.add_number(fakeapp.SUPPORT, dead, status_callback="http://127.0.0.1:9/voice/status")
    leg = sim.place_call(VirtualCaller("+14155550100", sim.rng), fakeapp.SUPPORT)
    sim.run()
    assert [f.code for f in sim.faults] == [11205]
    assert sim.faults[0].url == dead and "connection failure" in sim.faults[0].message
    said = [line.text for line in leg.transcript if line.kind == "say"]
    assert said == [APPLICATION_ERROR] and leg.status == "completed"
