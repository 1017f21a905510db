"""The end of a call: the status callback of the hotline's number.

status -> the caller hung up: routing told (a waiting caller abandoned, their agent's leg
          ended, a freed agent's next caller pulled); a call that never reached a queue is
          counted as abandoned in the menu, or as a hang-up out of hours
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import DONE, count_unqueued, field, identified
from ivr.call.webhooks import twilio_webhook
from ivr.services import engine
from routing.queues.hours import is_open


@bp.route("/status", methods=["POST", "GET"])
@twilio_webhook
def status() -> Response:
    """The number's status callback: a caller who hangs up while waiting has abandoned."""
    if field("CallStatus", 32) in DONE:
        # a freed agent's next caller is pulled now: the tick's offers come with the hang-up
        cancel, offers = engine().router.hangup_tick(field("CallSid", 64))
        dispatch.end_agent_leg(cancel)
        _count_unrouted_end()
        dispatch.act_on(offers)
    return reply(VoiceResponse())


def _count_unrouted_end() -> None:
    """A caller who hung up before reaching a queue: in the menu, or in the after-hours flow
    (by the hours when the call began: now minus CallDuration). Nothing is counted for a call
    already accounted for (record_lib.lua): queued, a call-back booked, the duty line."""
    eng = engine()
    if field("Direction", 32) not in ("", "inbound") or eng.router.call(field("CallSid", 64)):
        return
    duration = field("CallDuration", 8)
    began = eng.clock.now() - timedelta(seconds=int(duration) if duration.isdigit() else 0)
    closed = not is_open(began, eng.settings.business_hours, eng.settings.tz)
    count_unqueued("after_hours_hangup" if closed else "ivr_abandoned", identified())
