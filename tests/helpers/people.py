"""The callers the tests ring the hotline as, named once.

SENIOR and YOUNG are the directory's customers of the offline-hotline tests; DEMO_SENIOR is the
demo directory's senior (ivr/runtime/demo.py), whom `silverline call` reaches without a test
putting them in the directory.
"""

from __future__ import annotations

from datetime import date

from routing.callers.caller import Caller, Customer
from routing.engine import Engine
from routing.queues.agents import Agent

SENIOR = "+8613800000001"  # 陈伯, born 1954-03-01: 72 at T0
YOUNG = "+8613800000002"  # 李娜, born 1991-06-01: 35 at T0
STRANGER = "+8613800000099"  # in no directory
DEMO_SENIOR = "+8613800138000"  # 王建国, 68, in the demo directory

SENIOR_CUSTOMER = Customer("c1", "陈伯", date(1954, 3, 1), "mandarin", (SENIOR,))
YOUNG_CUSTOMER = Customer("c2", "李娜", date(1991, 6, 1), "mandarin", (YOUNG,))


def senior_customer(dialect: str | None) -> Customer:
    """陈伯, speaking `dialect` (None: the directory knows no dialect for him)."""
    return Customer("c1", "陈伯", date(1954, 3, 1), dialect, (SENIOR,))


def senior_caller(dialect: str = "mandarin", age: int = 72, number: str = SENIOR) -> Caller:
    """A senior as caller identification hands them to the router (no directory record)."""
    return Caller(number, number, None, age, dialect, True)


# Known callers per language: (senior, younger), and what they say for a person, yes and no.
BY_LANGUAGE = {
    "mandarin": (("+8613800000011", "+8613800000021"), ("转人工", "回电", "不要回电")),
    "cantonese": (("+8613800000012", "+8613800000022"), ("我要搵真人", "回電", "唔要回電")),
    "english": (("+8613800000013", "+8613800000023"), ("agent please", "call me back", "no")),
}
LANGUAGES = list(BY_LANGUAGE)
# 陈伯, a Cantonese 李娜, and a senior and a younger caller in each language of BY_LANGUAGE.
EVERYONE = (
    SENIOR_CUSTOMER,
    Customer("c2", "李娜", date(1991, 6, 1), "cantonese", (YOUNG,)),
    *(
        Customer(f"{kind}-{language}", name, born, language, (number,))
        for language, (numbers, _) in BY_LANGUAGE.items()
        for kind, name, born, number in zip(
            "sy", ("Old", "Young"), (date(1950, 1, 1), date(1990, 1, 1)), numbers, strict=True
        )
    ),
)


def add_people(engine: Engine) -> Engine:
    """Put 陈伯 (SENIOR, speaking Cantonese) and 李娜 (YOUNG, no dialect) in the directory."""
    engine.directory.save(senior_customer("cantonese"))
    engine.directory.save(Customer("c2", "李娜", date(1991, 6, 1), None, (YOUNG,)))
    return engine


def add_agent(engine: Engine, agent_id: str, skills: set[str], dialects: tuple[str, ...]) -> Agent:
    """Save an agent with `skills` and `dialects`, available at once."""
    agent = Agent(agent_id, f"Agent {agent_id}", f"client:{agent_id}", frozenset(skills), dialects)
    engine.agents.save(agent)
    engine.router.set_agent_state(agent_id, "available")
    return agent
