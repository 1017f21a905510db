"""The agent's console card reads well whatever is known about the caller (issue 21, point 7)."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dialects.packs import default_packs
from dialects.registry import DIALECTS
from ivr import services
from routing.callers.caller import Caller, Customer
from routing.engine import Engine
from routing.queues.agents import Agent
from tests.readable import reads_badly
from tests.web.conftest import PASSWORD, sign_in

COMBOS = list(
    itertools.product(
        ("陈伯", None), (72, None), (True, False), default_packs().codes, ("zh", "en")
    )
)


def _caller(name: str | None, age: int | None, senior: bool, dialect: str) -> Caller:
    born = date(2026 - (age or 30), 1, 1)
    customer = Customer("c1", name, born, dialect, ("+8613800000001",)) if name else None
    return Caller("+8613800000001", "+8613800000001", customer, age, dialect, senior)


def _card(page: str) -> dict[str, str]:
    facts = re.findall(r'<dd id="caller-(\w+)"[^>]*>([^<]*)</dd>', page)
    return {k: v.strip() for k, v in facts}


@pytest.mark.parametrize(("name", "age", "senior", "dialect", "lang"), COMBOS)
def test_the_card_names_what_is_known_and_says_so_of_the_rest(
    app: Flask,
    engine: Engine,
    name: str | None,
    age: int | None,
    senior: bool,
    dialect: str,
    lang: str,
) -> None:
    # a senior-trained agent is kept back for seniors (routing.senior_reserve)
    skills = frozenset({"senior"} if senior else set())
    engine.agents.save(Agent("a01", "王丽", "client:a01", skills, ("mandarin",)))
    services.of(app).engine.users.add("a01", PASSWORD, "agent", "a01")
    engine.router.set_agent_state("a01", "available")
    engine.router.arrive("CA" + "1" * 32, _caller(name, age, senior, dialect), "general")
    client: FlaskClient = app.test_client()
    sign_in(client, "a01")
    with client.session_transaction() as session:
        session["lang"] = lang
    page = client.get("/agent").get_data(as_text=True)
    state = client.get("/agent/state").get_json()
    card = _card(page)
    unknown = "Unregistered caller" if lang == "en" else "未登记客户"
    assert state["call"]["name"] == (name or unknown)
    assert card["age"] == (str(age) if age is not None else "—")
    known = DIALECTS[dialect]
    assert state["call"]["dialect_name"] == (known.name_en if lang == "en" else known.name_zh)
    for fact in ("name", "age", "dialect", "queue"):
        assert card[fact] and not reads_badly(card[fact]), (fact, card)
