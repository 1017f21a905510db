"""docs/ops/: the alerting rules and the Grafana dashboard name only metrics and label values
that /metrics really exposes (a renamed metric would otherwise silence an alert)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from routing.queues.agents import AGENT_STATES

OPS = Path(__file__).resolve().parents[2] / "docs" / "ops"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
LABEL_VALUES = {"class": {"senior", "other", "all"}, "state": set(AGENT_STATES)}
METRIC = re.compile(r"\bsilverline_[a-z_]+")
MATCHER = re.compile(r'(\w+)\s*(=~|!=|=)\s*"([^"]*)"')


def exposed(client: FlaskClient) -> set[str]:
    """Every sample name /metrics can carry, from the families it declares."""
    text = client.get("/metrics").get_data(as_text=True)
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def rule_exprs() -> list[str]:
    rules = yaml.safe_load((OPS / "prometheus-rules.yml").read_text(encoding="utf-8"))
    found = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["annotations"]["summary"], rule
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule
            found.append(rule["expr"])
    return found


def dashboard_exprs() -> list[str]:
    board: dict[str, Any] = json.loads((OPS / "grafana-dashboard.json").read_text("utf-8"))
    exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    return exprs


def test_every_metric_the_alerts_and_the_dashboard_name_is_exposed(
    metrics_open: None, client: FlaskClient
) -> None:
    have = exposed(client)
    assert "silverline_time_to_human_seconds_bucket" in have  # the parser reads what we serve
    exprs = rule_exprs() + dashboard_exprs()
    assert len(exprs) >= 15
    for expr in exprs:
        named = set(METRIC.findall(expr))
        assert named, expr
        assert named <= have, f"{sorted(named - have)} not in /metrics: {expr}"


def test_their_label_matchers_use_values_the_metrics_carry() -> None:
    for expr in rule_exprs() + dashboard_exprs():
        for label, op, value in MATCHER.findall(expr):
            known = LABEL_VALUES.get(label)
            if known is None:
                continue
            values = value.split("|") if op == "=~" else [value]
            assert set(values) <= known, f"{label}{op}{value!r} in {expr}"
