"""Calls whose end was never reported are put right: the ticker asks Twilio about them.

Twilio reports a call's end once (a `<Dial>` action, a queue hang-up, a status callback);
when that one request is lost (a restart, a dead worker's spool, a network blip) the agent
would stay "on call" and the caller would stay in the queue for ever. Each beat claims a few
live calls nothing has been heard of for `routing.reconcile_after` (route.lua OPS.stale:
atomic, so several servers on one store look each one up once), fetches each from Twilio's
REST API, and closes the ended ones as their report would have. Without REST credentials, or
while Twilio cannot be reached, a call is closed as "ended, unreported" once nothing has been
heard of it for `routing.max_call_seconds`.
"""

from __future__ import annotations

from ivr.telephony import Telephony
from routing.engine import Engine

PER_BEAT = 10  # calls looked up per beat: each REST fetch may take up to its timeout
# The Call resource's final statuses (https://www.twilio.com/docs/voice/api/call-resource):
# queued, ringing and in-progress calls are left alone and asked about again later.
FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def reconcile(eng: Engine, telephony: Telephony, limit: int = PER_BEAT) -> int:
    """Look up stale calls and close those that ended; return how many were looked up."""
    stale = eng.router.stale_calls(limit)
    for call in stale:
        # a call-back entry's sid is the original inbound call, long over: nothing to ask
        status = None if call.callback else telephony.call_status(call.call_sid)
        if status is None:
            eng.router.reconcile(call.call_sid, "unreported")
        elif status in FINAL:
            # the agent's leg placed for them, ringing or alone in their room: ended too
            telephony.end(eng.router.reconcile(call.call_sid, status))
    return len(stale)
