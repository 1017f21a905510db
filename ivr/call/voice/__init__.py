"""The caller's call, phase by phase: the Twilio voice webhooks of docs/call-flow.md.

Every route here answers TwiML under /voice/ with the policy of `twilio_webhook`
(ivr/call/webhooks.py): the signature checked, a person whatever fails, reports spooled.

    entry.py          incoming, menu                         a new call and the menu
    waiting.py        wait, callback-request, queue-result,  in a queue, and the way out
                      full-callback
    classic.py        connect, whisper, dial-result          the classic path: <Dial> the agent
    conference.py     hold, room, agent-answer,              the conference path: a room of the
                      agent-status, room-status, room-result call's own, the agent rung by REST
    entering.py       enter                                  the room's door: in once the
                                                             agent's leg exists, else <Dial>
    callbacks.py      callback-answer, callback-status       a senior's call-back call
    machine.py        amd, machine-confirm, machine-answer,  detection's verdict on a call-back
                      machine-message                        or a visit: asked once
    out_of_hours.py   after-hours, complaint-choice,         the hotline or its complaints
                      complaint-recorded                     desk closed
    status.py         status                                 the call's end
    placement.py      (no route)                             a caller placed: agent, queue, line

incoming -> (closed) after-hours  |  (senior) placed  |  (others) menu -> placed
placed   -> an agent free: conference room (REST rings the agent; the caller at its door,
            entering, until the leg exists) or classic <Dial>
            none: <Enqueue>, wait ... until assigned, then connect (classic) or room
            (conference)  |  an overflow line  |  a call-back (callbacks)
the end  -> dial-result / room-result, and the number's status callback

Elsewhere under /voice/: the fallback line (ivr/call/fallback.py), agents' open lines
(ivr/call/open_line.py), return visits (ivr/call/visits.py).

Blueprints: the phase modules add their routes to one blueprint, `bp`, named "voice"
(blueprint.py); conference.py keeps its own, named "connect". Importing the phase modules
here is what registers their routes.
"""

from __future__ import annotations

from ivr.call.voice import (
    callbacks,
    classic,
    entering,
    entry,
    machine,
    out_of_hours,
    status,
    waiting,
)
from ivr.call.voice.blueprint import bp

__all__ = [
    "bp",
    "callbacks",
    "classic",
    "entering",
    "entry",
    "machine",
    "out_of_hours",
    "status",
    "waiting",
]
