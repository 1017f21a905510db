"""`/metrics` for Prometheus: read from Redis at scrape time, so every worker agrees.

Nothing is counted in the process: a custom collector reads the routing snapshot, the
all-time statistics totals and today's figures when Prometheus scrapes, so any gunicorn
worker answers the same. With SILVERLINE_METRICS_TOKEN set, the scrape must send
`Authorization: Bearer <token>`; without it, /metrics is closed (404: figures such as queue
lengths and campaign progress are not for anyone who finds the server) unless
`auth.metrics_open` opens it, for a scraper on a private network.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ivr import services
from ivr.web import dashboard
from routing.engine import Engine
from routing.exceptions import SettingsError, StoreUnavailable
from routing.outbound.campaigns import OUTCOMES
from routing.queues.events import TTH_BOUNDS
from routing.reporting.queue_stats import Figures

bp = Blueprint("metrics", __name__)
REGISTRY = "silverline.metrics"
CLASS_LABELS = ("senior", "other")
# Counters from the all-time totals: metric name, help, Figures field.
COUNTERS = (
    ("offered", "Calls that entered a queue.", "offered"),
    ("answered", "Calls answered by an agent.", "answered"),
    ("answered_within_sl", "Calls answered within the queue's service-level T.", "answered_sl"),
    ("abandoned", "Callers who hung up waiting, after the short-abandon threshold.", "abandoned"),
    (
        "short_abandoned",
        "Callers who hung up within the short-abandon threshold.",
        "short_abandoned",
    ),
    ("callbacks_requested", "Call-backs requested by waiting callers.", "cb_requested"),
    ("offers_missed", "Offers an agent did not answer.", "missed"),
    (
        "ended_unreported",
        "Calls closed with no report of their end and no answer from Twilio.",
        "unreported",
    ),
)


class SilverlineCollector(Collector):
    """Prometheus metrics read from the engine's Redis at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            totals = self.engine.stats.totals()
            board = dashboard.queues(self.engine)
        except StoreUnavailable:
            up = GaugeMetricFamily("silverline_store_up", "1 when Redis answered the scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("silverline_store_up", "1 when Redis answered the scrape.")
        up.add_metric([], 1)
        yield up
        yield from self._counters(totals)
        yield self._histogram(totals)
        yield self._tth_histogram(totals)
        yield from self._live(board)
        yield from self._today(board)
        yield from self._campaigns()

    def _counters(self, totals: dict[str, dict[str, Figures]]) -> Iterator[Metric]:
        for name, help_text, attr in COUNTERS:
            metric = CounterMetricFamily(
                f"silverline_calls_{name}", help_text, labels=["queue", "class"]
            )
            for queue in self.engine.settings.queues:
                for klass in CLASS_LABELS:
                    metric.add_metric([queue, klass], getattr(totals[queue][klass], attr))
            yield metric

    def _histogram(self, totals: dict[str, dict[str, Figures]]) -> Metric:
        return self._seconds_histogram(
            totals,
            "silverline_answer_wait_seconds",
            "Seconds answered callers waited (sum / count = ASA).",
            self.engine.settings.stats.histogram_bounds,
            lambda f: (f.histogram, f.wait_ms),
        )

    def _tth_histogram(self, totals: dict[str, dict[str, Figures]]) -> Metric:
        return self._seconds_histogram(
            totals,
            "silverline_time_to_human_seconds",
            "Seconds from a call's first webhook until the caller heard a person.",
            TTH_BOUNDS,
            lambda f: (f.tth_histogram, f.tth_ms),
        )

    def _seconds_histogram(
        self,
        totals: dict[str, dict[str, Figures]],
        name: str,
        help_text: str,
        bounds: tuple[int, ...],
        pick: Callable[[Figures], tuple[tuple[int, ...], int]],
    ) -> Metric:
        les = [*(str(float(b)) for b in bounds), "+Inf"]  # Prometheus spells le as a float
        metric = HistogramMetricFamily(name, help_text, labels=["queue", "class"])
        for queue in self.engine.settings.queues:
            for klass in CLASS_LABELS:
                counts, total_ms = pick(totals[queue][klass])
                running, buckets = 0, []
                for le, count in zip(les, counts or (0,) * len(les), strict=True):
                    running += count
                    buckets.append((le, float(running)))
                metric.add_metric([queue, klass], buckets, sum_value=total_ms / 1000)
        return metric

    def _live(self, board: dict[str, Any]) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "silverline_queue_waiting", "Callers waiting now.", labels=["queue", "class"]
        )
        longest = GaugeMetricFamily(
            "silverline_queue_longest_wait_seconds",
            "How long the longest-waiting caller has waited now (class all or senior).",
            labels=["queue", "class"],
        )
        for row in board["queues"]:
            q = row["name"]
            waiting.add_metric([q, "senior"], row["seniors_waiting"])
            waiting.add_metric([q, "other"], row["others_waiting"])
            longest.add_metric([q, "all"], row["longest_wait_s"])
            longest.add_metric([q, "senior"], row["seniors_longest_wait_s"])
        yield waiting
        yield longest
        agents = GaugeMetricFamily("silverline_agents", "Agents by state now.", labels=["state"])
        for state, count in board["all"]["agents"].items():
            agents.add_metric([state], count)
        yield agents

    def _today(self, board: dict[str, Any]) -> Iterator[Metric]:
        names = (
            ("offered", "offered", "Calls offered today (hotline time zone)."),
            ("answered", "answered", "Calls answered today."),
            ("abandoned", "abandoned", "Calls abandoned today (short abandons excluded)."),
            ("asa_s", "asa_seconds", "Average speed of answer today, seconds."),
            ("service_level", "service_level", "Answered within T / (answered + abandoned)."),
            ("abandon_rate", "abandon_rate", "Abandoned / (offered - short abandons), today."),
        )
        for field, name, help_text in names:
            metric = GaugeMetricFamily(
                f"silverline_today_{name}", help_text, labels=["queue", "class"]
            )
            for row in board["queues"]:
                for klass in ("senior", "other", "all"):
                    value = row["today"][klass][field]
                    if value is not None:
                        metric.add_metric([row["name"], klass], value)
            yield metric

    def _campaigns(self) -> Iterator[Metric]:
        """Each return-visit campaign's customers by outcome, and how many were reached."""
        try:
            rows = [
                (c.name, self.engine.campaigns.progress(c.name))
                for c in self.engine.campaigns.all()
            ]
        except StoreUnavailable:
            return
        customers = GaugeMetricFamily(
            "silverline_campaign_customers",
            "Return-visit campaigns' customers by outcome now (pending: still to call).",
            labels=["campaign", "outcome"],
        )
        reached = GaugeMetricFamily(
            "silverline_campaign_reached",
            "Return-visit campaigns' customers reached (any outcome but pending and failed).",
            labels=["campaign"],
        )
        for name, progress in rows:
            for outcome in OUTCOMES:
                customers.add_metric([name, outcome], progress[outcome])
            reached.add_metric([name], progress["reached"])
        yield customers
        yield reached


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    """Refuse to start when a token is required but not set; make the app's registry."""
    app = state.app
    engine = services.of(app).engine
    settings = services.of(app).settings
    if settings.auth.metrics_token_required and not settings.secrets.metrics_token:
        raise SettingsError(
            "config key 'auth.metrics_token_required' is true but SILVERLINE_METRICS_TOKEN "
            "is not set"
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SilverlineCollector(engine))
    app.extensions[REGISTRY] = registry


@bp.get("/metrics")
def metrics() -> Response:
    settings = services.settings()
    token = settings.secrets.metrics_token
    if token and not _token_ok(token):  # a set token is always asked for
        response = Response("bearer token required\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not token and not settings.auth.metrics_open:  # closed unless opened on purpose
        return Response("not found\n", status=404, mimetype="text/plain")
    body = generate_latest(current_app.extensions[REGISTRY])
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _token_ok(expected: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)
