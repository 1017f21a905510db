"""The Flask-free engine: everything routing/ offers, built from a Redis client and a clock."""

from __future__ import annotations

from routing.callers.directory import Directory
from routing.clock import Clock
from routing.governance.audit import AuditTrail
from routing.governance.privacy import PersonalData
from routing.governance.users import Users
from routing.keys import Keys
from routing.outbound.campaigns import Campaigns
from routing.outbound.visits import Visits
from routing.queues.abandoned import Abandoned
from routing.queues.agents import Agents
from routing.queues.callbacks import CallbackRequests
from routing.queues.complaints import ComplaintBox
from routing.queues.recorder import Recorder
from routing.queues.router import Router
from routing.queues.routing_script import RoutingLua, RoutingScript, ScriptReport
from routing.queues.softphones import Softphones
from routing.queues.wrapup import WrapUps
from routing.reporting.alerts import Alerts
from routing.reporting.queue_stats import Stats
from routing.reporting.team_stats import TeamStats
from routing.settings import EngineSettings
from routing.store import RedisClient


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
        self.softphones = Softphones(redis, clock, self.keys, self.router)
        self.audit = AuditTrail(redis, clock, self.keys, settings.privacy.audit_days)
