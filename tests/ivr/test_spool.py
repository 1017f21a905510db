"""The report spool: only report webhooks are kept, in order, and put back when still failing."""

from __future__ import annotations

import redis
from flask import Flask

from ivr.spool import Report, Spool, keep_if_report, spool_of
from routing.exceptions import StoreUnavailable


def report(n: int) -> Report:
    return Report("voice.status", "/voice/status", "", (("CallSid", f"CA{n}"),))


def test_put_back_keeps_the_order_ahead_of_newer_reports() -> None:
    spool = Spool()
    for n in range(3):
        spool.keep(report(n))
    taken = spool.take()
    spool.keep(report(3))
    spool.put_back(taken[1:])
    assert [r.form[0][1] for r in spool.take()] == ["CA1", "CA2", "CA3"]


def test_the_spool_is_bounded() -> None:
    spool = Spool(capacity=2)
    for n in range(5):
        spool.keep(report(n))
    assert len(spool) == 2


def test_only_reports_that_redis_failed_are_kept(app: Flask) -> None:
    down = StoreUnavailable("Redis did not answer")
    with app.test_request_context("/voice/status", method="POST", data={"CallSid": "CA1"}):
        assert keep_if_report(app, down)
        assert not keep_if_report(app, ValueError("a bug, not an outage"))
    with app.test_request_context("/voice/menu", method="POST", data={"Digits": "1"}):
        assert not keep_if_report(app, redis.ConnectionError("refused"))
    kept = spool_of(app).take()
    assert kept == [Report("voice.status", "/voice/status", "", (("CallSid", "CA1"),))]
