"""Random sequences of routing events, checked against the rules after every step.

After each step (and the tick that follows it) the state in Redis must satisfy:
- an agent is offered or talking to at most one caller, and a caller to at most one agent;
  each agent's call points back at them, and nobody else points at a call;
- every waiting caller is in line under their original entry time (re-routes and call-backs
  keep it), in their queue's bucket for their dialect and, a senior, in its seniors' bucket;
  nobody else is;
- the free agents' indexes per skill and dialect hold exactly the available agents with that
  skill and dialect, scored by when they became idle; the staffed counts count exactly the
  staffed agents; the wrap-up set holds exactly the agents in wrap-up, until their end;
- each call has its entered event once and, as fits its life, at most one of answered,
  completed, abandoned, unreported and overflowed (never both completed and unreported,
  never abandoned once answered, completed only after answered);
- work conservation: no available agent may take (by the rules, recomputed here) any caller
  who is waiting;
- every offer made in the step was allowed at that moment (so no requirement widened early),
  and no caller still waiting who ranks ahead could have had that agent; a return visit took
  only an agent no waiting caller could have had;
- a senior went to an agent without senior training only while no senior-trained agent was
  free;
- the same pull is never handed out twice, and a repeated webhook changes nothing;
- a reconciled call is closed only as Twilio's answer (or its silence for
  routing.max_call_seconds) says, and no call record outlives privacy.call_record_hours.

Besides callers' and agents' webhooks the steps remove agents and change their profiles,
reserve agents for return visits, overflow a queue (drawn per example), look up stale calls
and let records expire.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings

from routing.store import RedisClient
from tests.helpers.router_model import agents_st, ladder_st, ops_st, overflow_st, run_steps
from tests.profiles import examples


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(team=agents_st, ops=ops_st, ladder=ladder_st, overflow=overflow_st)
# A `dup` after a burst repeated the op before the burst, which the burst had superseded.
@example(
    team=[(set(), ["mandarin"])],
    ops=[("agent", 0, "away"), ("burst", [("hangup", 0), ("agent", 0, "available")]), ("dup",)],
    ladder=None,
    overflow=None,
)
# Found by the thorough profile (a model fault): in a burst a senior-trained agent signed in
# after the senior was offered to the only other agent, free once widened; the model took
# them for free at the offer.
@example(
    team=[(set(), ["mandarin"]), ({"senior"}, ["mandarin"])],
    ops=[("arrive", "senior", "mandarin", False)] * 2
    + [("burst", [("arrive", "senior", "mandarin"), ("agent", 0, "available")])]
    + [("advance", 45), ("hangup", 0), ("burst", [("hangup", 1), ("agent", 1, "available")])],
    ladder=None,
    overflow=("senior", 0, 1, "callback"),
)
# Engine defect (route.lua OPS.queue_full): a caller moved by their queue's overflow to a
# queue with a free agent was connected by their own webhook's answer, and the same offer was
# still left for the next tick to pull (a second leg to the agent for a caller in no queue).
@example(
    team=[(set(), ["mandarin"])],
    ops=[("agent", 0, "available"), ("arrive", "policy", "mandarin", False), ("full", 0)],
    ladder=None,
    overflow=("policy", 0, 1, "queue"),
)
# A model fault (found by the thorough profile as a flaky failure, the threads' order deciding
# it): in a burst the only agent who speaks the caller's dialect went away, the caller was
# offered to the other agent, and the speaker came back, all in one instant; the model took the
# speaker for staffed at the offer. Replayed in that order, so the example does not depend on
# how the threads interleave.
@example(
    team=[(set(), ["cantonese"]), (set(), ["mandarin"])],
    ops=[("agent", 0, "available"), ("agent", 1, "available"), ("advance", 1)]
    + [
        (
            "burst",
            [("agent", 1, "away"), ("arrive", "general", "mandarin"), ("agent", 1, "available")],
            "in order",
        )
    ]
    + [("advance", 1)] * 2,
    ladder=None,
    overflow=None,
)
def test_routing_rules_hold_after_every_step(
    r: RedisClient,
    team: list[tuple[set[str], list[str]]],
    ops: list[tuple[Any, ...]],
    ladder: list[dict[str, Any]] | None,
    overflow: tuple[str, int, int, str] | None,
) -> None:
    run_steps(r, team, ops, ladder, overflow)
