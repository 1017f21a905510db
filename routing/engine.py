"""The Flask-free engine: everything routing/ offers, built from a Redis client and a clock."""

from __future__ import annotations

from routing.abandoned import Abandoned
from routing.agents import Agents
from routing.alerts import Alerts
from routing.audit import AuditTrail
from routing.callbacks import CallbackRequests
from routing.campaigns import Campaigns
from routing.clock import Clock
from routing.complaints import ComplaintBox
from routing.directory import Directory
from routing.keys import Keys
from routing.privacy import PersonalData
from routing.recorder import Recorder
from routing.route import RoutingLua, RoutingScript, ScriptReport
from routing.router import Router
from routing.settings import EngineSettings
from routing.statsquery import Stats
from routing.store import RedisClient
from routing.teamstats import TeamStats
from routing.users import Users
from routing.visits import Visits
from routing.wrapup import WrapUps


class Engine:
    """Bundle of the engine's parts; the web app, the CLI and the simulator each build one."""

    def __init__(
        self,
        redis: RedisClient,
        clock: Clock,
        settings: EngineSettings,
        script_report: ScriptReport | None = None,
    ) -> None:
        """`script_report`: the simulator's, to hear what each routing call says of itself."""
        self.redis = redis
        self.clock = clock
        self.settings = settings
        self.keys = Keys(settings.redis.key_prefix)
        self.directory = Directory(redis, clock, settings, self.keys)
        self.callbacks = CallbackRequests(redis, clock, self.keys, settings.privacy.callback_days)
        self.complaints = ComplaintBox(redis, clock, self.keys)
        self.stats = Stats(redis, clock, settings, self.keys)
        self.team = TeamStats(self.stats, settings, self.keys)
        # one routing script, made from the settings and keys, for everything that routes
        self.script = RoutingScript(redis, RoutingLua(settings, self.keys), script_report)
        self.agents = Agents(redis, clock, settings, self.keys, self.script)
        self.router = Router(self.agents, self.script)
        self.abandoned = Abandoned(redis, clock, settings, self.keys, self.router, self.callbacks)
        self.alerts = Alerts(self.router, self.stats)
        self.recorder = Recorder(self.script, clock)
        auth = settings.auth
        self.users = Users(redis, clock, self.keys, auth.login_attempts,
                           auth.login_attempts_per_address, auth.login_attempts_total)  # fmt: skip
        self.wrap_ups = WrapUps(redis, clock, self.keys, settings)
        self.campaigns = Campaigns(redis, clock, settings, self.keys)
        self.privacy = PersonalData(self.directory, self.campaigns)
        self.visits = Visits(self.campaigns, self.router, self.directory, clock)
        self.audit = AuditTrail(redis, clock, self.keys, settings.privacy.audit_days)
