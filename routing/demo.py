"""Demo data: realistic customers, so the hotline can be called without importing anything.

`seed_customers` always writes these well-known numbers (ages hold for 265 days after seeding):

| number         | name   | age | dialect                          |
|----------------|--------|-----|----------------------------------|
| +8613902200060 | 陈婉仪 | 72  | cantonese (a Guangzhou mobile)   |
| +8613800138000 | 王建国 | 68  | mandarin (a Beijing mobile)      |
| +8613800138035 | 李明   | 35  | mandarin (a Beijing mobile)      |
| +85291234567   | 何淑芬 | 81  | cantonese (Hong Kong)            |
| +862885551234  | 刘德成 | 75  | sichuanese (a Chengdu landline)  |
| +862161234567  | 周美华 | 64  | shanghainese (a Shanghai line)   |
| +8613918888888 | 张伟   | 45  | english (the record's preference)|

and then random customers: Chinese names, ages 20-95, numbers from many provinces (mobiles
and landlines), a few from Hong Kong and abroad, some with two numbers.

`seed_agents` writes a team of twelve (see DEMO_AGENTS): five senior-trained, between them
speaking Cantonese, Shanghainese and Sichuanese as well as Mandarin, and topic specialists,
some speaking Minnan or English. They start offline, like any new agent.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from routing.callers import numbers
from routing.callers.caller import Customer
from routing.callers.directory import Directory
from routing.clock import Clock
from routing.queues.agents import Agent, Agents

DEMO_CUSTOMERS: tuple[tuple[str, str, int, str | None], ...] = (
    ("+8613902200060", "陈婉仪", 72, None),
    ("+8613800138000", "王建国", 68, None),
    ("+8613800138035", "李明", 35, None),
    ("+85291234567", "何淑芬", 81, None),
    ("+862885551234", "刘德成", 75, None),
    ("+862161234567", "周美华", 64, None),
    ("+8613918888888", "张伟", 45, "english"),
)
# id, name, skills ("senior" = senior-trained), dialects spoken (the first is the whisper's).
DEMO_AGENTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("a01", "王丽", ("senior", "policy"), ("mandarin",)),
    ("a02", "陈家明", ("senior", "claims"), ("cantonese", "mandarin")),
    ("a03", "李秀英", ("senior",), ("mandarin", "sichuanese")),
    ("a04", "黄美玲", ("senior", "payments"), ("cantonese", "english")),
    ("a05", "周建华", ("senior",), ("shanghainese", "mandarin")),
    ("a06", "林志强", ("claims",), ("minnan", "mandarin")),
    ("a07", "张磊", ("policy", "payments"), ("mandarin",)),
    ("a08", "刘洋", ("claims", "complaints"), ("mandarin", "english")),
    ("a09", "Emily Chan", ("policy",), ("english", "cantonese")),
    ("a10", "赵敏", ("complaints",), ("mandarin",)),
    ("a11", "吴静", (), ("sichuanese", "mandarin")),
    ("a12", "何志伟", ("payments",), ("cantonese",)),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国淑珍志德美玲文辉婉仪玉梅春"
_MOBILE = ("130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 177 180 "
           "181 182 185 186 187 188 189 198 199").split()  # fmt: skip
# Area codes: Guangzhou, Shenzhen, Dongguan, Shanghai, Fuzhou, Xiamen, Chengdu, Chongqing,
# Beijing, Nanjing, Suzhou, Hangzhou, Wuhan, Xi'an, Changsha, Zhengzhou, Harbin, Nanning.
_AREA = "20 755 769 21 591 592 28 23 10 25 512 571 27 29 731 371 451 771".split()
# Abroad: a country and area prefix, and how many digits follow it.
_ABROAD = (("+1415", 7), ("+1212", 7), ("+1604", 7), ("+447700", 6), ("+658", 7), ("+614", 8))


def seed_customers(
    directory: Directory, clock: Clock, count: int = 200, seed: int = 7
) -> list[Customer]:
    """Write the well-known demo customers and `count` random ones; return them all."""
    rng = random.Random(seed)
    today = directory.local_date(clock.now())
    customers = [
        Customer(number, name, _born(today, age, 100), dialect, (number,))
        for number, name, age, dialect in DEMO_CUSTOMERS
    ]
    taken = {c.id for c in customers}
    for _ in range(count):
        customers.append(_random_customer(rng, today, taken))
    for start in range(0, len(customers), 10_000):
        directory.save_many(customers[start : start + 10_000])
    return customers


def seed_agents(agents: Agents) -> list[Agent]:
    """Write the demo team (an existing agent keeps their state); return it."""
    team = [
        Agent(aid, name, f"client:{aid}", frozenset(skills), dialects)
        for aid, name, skills, dialects in DEMO_AGENTS
    ]
    for agent in team:
        agents.save(agent)
    return team


def _born(today: date, age: int, days_ago: int) -> date:
    """A birth date that makes someone `age` today, with a birthday `days_ago` days back."""
    day = today - timedelta(days=days_ago)
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - age, day=28)


def _random_customer(rng: random.Random, today: date, taken: set[str]) -> Customer:
    name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))
    phones = [_unique(rng, taken, _number_kind(rng))]
    if rng.random() < 0.1:
        phones.append(_unique(rng, taken, "landline" if phones[0].startswith("+861") else "mobile"))
    abroad = not phones[0].startswith(("+86", "+852"))
    dialect = "english" if abroad else (rng.choice(("mandarin", "cantonese", "minnan"))
                                        if rng.random() < 0.1 else None)  # fmt: skip
    birth = _born(today, rng.randint(20, 95), rng.randint(0, 364))
    return Customer(phones[0], name, birth, dialect, tuple(phones))


def _number_kind(rng: random.Random) -> str:
    roll = rng.random()
    return (
        "mobile"
        if roll < 0.55
        else "landline"
        if roll < 0.85
        else "hk"
        if roll < 0.93
        else "abroad"
    )


def _unique(rng: random.Random, taken: set[str], kind: str) -> str:
    """A valid number of `kind` that no other demo customer has."""
    for _ in range(1000):
        number = numbers.normalise(_candidate(rng, kind), "CN")
        if number is not None and number not in taken:
            taken.add(number)
            return number
    raise RuntimeError(f"no valid {kind} demo number after 1000 tries")


def _candidate(rng: random.Random, kind: str) -> str:
    digits = "".join(rng.choices("0123456789", k=10))
    if kind == "mobile":
        return rng.choice(_MOBILE) + digits[:8]
    if kind == "landline":
        area = rng.choice(_AREA)
        return f"0{area}{rng.randint(2, 8)}{digits[: 6 if len(area) == 3 else 7]}"
    if kind == "hk":
        return f"+852{rng.choice('569')}{digits[:7]}"
    prefix, length = rng.choice(_ABROAD)
    return prefix + digits[:length]
