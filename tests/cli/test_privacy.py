"""A customer's personal data: their copy (`customers export`), their deletion (`customers
delete`) after a real call through the app, and `privacy report`; against the test Redis."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.resident_id import check_character
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.governance.audit import AuditEntry
from routing.store import RedisClient
from tests.cli.conftest import run
from tests.conftest import CLUSTER
from tests.helpers.hotline import offline_hotline

pytestmark = pytest.mark.skipif(CLUSTER, reason="the command line runs on one Redis here")

NUMBER = "+8613900139001"
NAME = "欧阳秀英"
ID_17 = "11010119540301123"
RESIDENT_ID = ID_17 + check_character(ID_17)  # born 1954-03-01: 72 on the test date
OTHER = "+8613800138035"  # 李明, who stays
CSV = (
    "name,phones,birth_date,id_number,dialect\n"
    f"{NAME},13900139001,,{RESIDENT_ID},\n"
    "李明,13800138035,1991-03-02,,\n"
)
# Every way the deleted customer could still be spelled in the store.
TRACES = (NUMBER, NUMBER[1:], NUMBER[3:], NAME, "19540301", "1954-03-01", RESIDENT_ID, ID_17)


def dump(r: RedisClient) -> str:
    """Every key and every value in the store, of every type, as one text."""
    return "\n".join(f"{key} {_value(r, key)!r}" for key in sorted(r.scan_iter(count=1000)))


def _value(r: RedisClient, key: str) -> object:
    kind = r.type(key)
    readers = {
        "string": lambda k: r.get(k),
        "hash": lambda k: r.hgetall(k),
        "list": lambda k: r.lrange(k, 0, -1),
        "set": lambda k: sorted(r.smembers(k)),
        "zset": lambda k: r.zrange(k, 0, -1, withscores=True),
        "stream": lambda k: r.xrange(k),
    }
    assert kind in readers, f"{key} is a {kind}: the scan must read every type"
    return readers[kind](key)


def cli_audit(r: RedisClient) -> list[AuditEntry]:
    """The audit trail as the command line wrote it (on the wall clock, not the test's)."""
    return Engine(r, SystemClock(), load_settings()).audit.entries()


@pytest.fixture
def hotline(runner: CliRunner, redis_url: str, clock: FixedClock, tmp_path: Path) -> Offline:
    """Both customers imported from a CSV, and the app with one senior-trained agent."""
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    run(runner, "customers", "import", str(path))
    off = offline_hotline(redis_url, clock, customers=())
    off.add_agent("a01", {"senior"}, aht_s=20.0)
    return off


def call_and_leave_traces(hotline: Offline) -> str:
    """A real call from the customer, a wrap-up note naming them, an out-of-hours request."""
    leg = hotline.call(VirtualCaller(NUMBER, random.Random(1)))
    hotline.call(VirtualCaller(OTHER, random.Random(2)), delay=60)
    hotline.run()
    eng = hotline.engine
    noted = eng.wrap_ups.record(
        leg.sid, "a01", "policy", f"{NAME} 13900139001 想改地址", queue="senior", senior=True
    )
    assert noted
    caller = eng.directory.identify(NUMBER, eng.clock.now())
    assert eng.callbacks.request_after_hours("CA" + "e" * 32, caller)
    return leg.sid


def test_the_resident_id_is_never_stored_whole(hotline: Offline, r: RedisClient) -> None:
    stored = dump(r)
    assert RESIDENT_ID not in stored and ID_17 not in stored
    assert "19540301" in stored  # the birth date it gave is what is kept
    assert hotline.engine.directory.identify(NUMBER, hotline.engine.clock.now()).age == 72


def test_export_gives_the_customer_everything_held(
    runner: CliRunner, hotline: Offline, r: RedisClient
) -> None:
    sid = call_and_leave_traces(hotline)
    copy = json.loads(run(runner, "customers", "export", "139 0013 9001"))
    assert copy["number"] == NUMBER
    assert copy["customer"]["name"] == NAME
    assert copy["customer"]["birth_date"] == "1954-03-01"
    assert copy["customer"]["resident_id"] is None
    assert [c["call_sid"] for c in copy["calls"]] == [sid]
    assert copy["calls"][0]["record"]["num"] == NUMBER
    assert [req["number"] for req in copy["callback_requests"]] == [NUMBER]
    notes = [e["note"] for e in copy["events"] if e["kind"] == "wrap_up"]
    assert notes == [f"{NAME} 13900139001 想改地址"]
    assert {e["call"] for e in copy["events"]} == {sid}  # none of 李明's
    [entry] = cli_audit(r)[:1]
    assert (entry.action, entry.target, entry.via) == ("customer_exported", "+86•••••••9001", "cli")


def test_after_a_deletion_nothing_in_the_store_holds_the_customer(
    runner: CliRunner, hotline: Offline, r: RedisClient, tmp_path: Path
) -> None:
    call_and_leave_traces(hotline)
    listed = tmp_path / "visits.csv"
    listed.write_text(f"number,name,note\n{NUMBER},{NAME},贷款\n{OTHER},李明,\n", "utf-8")
    run(runner, "campaigns", "add", "loan", str(listed), "--reason", "贷款确认", "--hours",
        "09:00-17:00")  # fmt: skip
    run(runner, "campaigns", "do-not-call", NUMBER)
    before = dump(r)
    assert [t for t in TRACES if t not in before] == ["1954-03-01", RESIDENT_ID, ID_17]

    out = run(runner, "customers", "delete", NUMBER, "--yes")

    assert out.startswith("deleted +86•••••••9001: 1 directory number(s), 1 call record(s)")
    after = dump(r)
    assert [trace for trace in TRACES if trace in after] == []
    assert OTHER in after and "李明" in after  # the other customer is untouched
    assert hotline.engine.directory.lookup(NUMBER) is None
    assert [t.number for t in hotline.engine.campaigns.targets("loan")] == [OTHER]
    day = hotline.engine.stats.day()
    assert day["all"]["all"].offered == 2  # the counts name nobody: they stay
    [entry] = cli_audit(r)[:1]
    assert (entry.action, entry.target) == ("customer_deleted", "+86•••••••9001")
    listed.write_text(f"number\n{NUMBER}\n", "utf-8")  # a later list cannot call her
    run(
        runner, "campaigns", "add", "loan-2", str(listed), "--reason", "r", "--hours", "09:00-17:00"
    )
    assert hotline.engine.campaigns.targets("loan-2") == []


def test_a_customer_on_a_live_call_is_not_deleted(
    runner: CliRunner, hotline: Offline, r: RedisClient
) -> None:
    caller = hotline.engine.directory.identify(NUMBER, hotline.engine.clock.now())
    hotline.engine.router.set_agent_state("a01", "away")
    hotline.engine.router.arrive("CA-LIVE", caller, "senior")  # waiting on the line
    result = runner.invoke(main, ["customers", "delete", NUMBER, "--yes"])
    assert result.exit_code == 1
    assert "a call of theirs is live (CA-LIVE)" in result.output
    assert hotline.engine.directory.lookup(NUMBER) is not None  # nothing was removed
    assert hotline.engine.router.call("CA-LIVE") is not None


def test_delete_asks_first_and_refuses_what_is_not_a_number(
    runner: CliRunner, hotline: Offline
) -> None:
    declined = runner.invoke(main, ["customers", "delete", NUMBER], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert hotline.engine.directory.lookup(NUMBER) is not None
    bad = runner.invoke(main, ["customers", "delete", "not-a-number", "--yes"])
    assert bad.exit_code == 2 and "not a valid phone number" in bad.output


def test_the_privacy_report_names_each_family_its_keeping_and_count(
    runner: CliRunner, hotline: Offline
) -> None:
    call_and_leave_traces(hotline)
    report = json.loads(run(runner, "privacy", "report", "--json"))
    rows = {row["key"]: row for row in report["families"]}
    assert rows["sl:dir:<last 4 digits>"]["count"] == 2
    assert "not kept" in rows["sl:dir:<last 4 digits>"]["holds"]  # the resident ID
    assert rows["{sl:rt}:calls"]["count"] == 2
    assert rows["{sl:rt}:calls"]["kept"].startswith("24 h")
    assert rows["sl:ahcb:<call sid>"]["count"] == 1
    assert rows["sl:audit:<YYYYMMDD>"]["count"] >= 1  # the import
    assert "spool" in report["outside_redis"]
    text = run(runner, "privacy", "report")
    assert "{sl:rt}:st:events" in text and "180 days" in text
