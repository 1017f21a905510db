"""Carry out what the router decided on the Twilio side: pull assigned callers, place call-backs.

Inside a webhook this REST work runs after the answer has been sent, never before it: Twilio
gives a webhook 15 s in all (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-
overrides), and a slow API inside the webhook would turn into error 11205 and a caller sent to
the fallback line. Nothing in the answer depends on it: a waiting caller whose pull is late or
failed still leaves the queue at their next wait-URL poll (<Leave/>), and a call-back that
could not be placed is retried (the engine's call-back attempts).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, Response, after_this_request, current_app, has_request_context
from twilio.base.exceptions import TwilioException

from ivr import services
from ivr.call.agent_leg import agent_twiml, line_twiml
from ivr.call.webhooks import public_base
from ivr.telephony import Telephony
from routing.engine import Engine
from routing.queues.router import LegClaim, Offer

log = logging.getLogger("silverline.dispatch")
# After an agent's leg could not be placed, new callers are connected by <Dial> for this long:
# each would otherwise hear their greeting's first words at their room's door while a create
# that is likely to fail too runs out (ivr/call/voice/entering.py). Three ticker beats: a
# short blip costs three seconds of the classic path, no more.
REST_TROUBLE_S = 3.0


@dataclass(frozen=True)
class Ring:
    """What became of ringing an offer's agent (Dispatcher.ring_agent)."""

    # "rung" now; "taken": another request has rung them or is ringing them; "none": the
    # offer is no longer there; "failed": REST failed, the claim given back
    outcome: str
    in_room: bool  # the caller waits in their room (for "failed": offered again next tick)


class Dispatcher:
    """The router's decisions carried out through Twilio's REST API, now.

    Built from the engine and the REST client: the ticker, the command line and the simulator
    use it directly; a webhook goes through `act_on`, which defers it past the answer.
    """

    def __init__(self, engine: Engine, telephony: Telephony) -> None:
        self.engine = engine
        self.telephony = telephony

    @property
    def conference_enabled(self) -> bool:
        """Callers meet their agent in a conference of their own (ivr/call/voice/conference.py):
        needs REST."""
        return self.telephony.enabled and self.engine.settings.ivr.connect == "conference"

    def act(self, offers: Iterable[Offer], root: str) -> None:
        """For each new assignment: REST-pull a waiting caller, or place a senior's call-back.

        Without REST credentials a pulled caller leaves at its next wait-URL poll instead.
        """
        for offer in offers:
            if offer.to_place:
                self._place_callback(offer, root)
            elif offer.open_leg:
                self._to_open_line(offer, root)
            elif self.conference_enabled:
                self._ring_and_pull(offer, root)
            elif self.telephony.enabled:
                self._pull(offer, f"{root}/voice/connect")

    def may_ring(self, senior: bool) -> bool:
        """Take one of the account's calls per second for an agent's leg, placed now; False:
        it would wait in Twilio's CPS queue, and the caller is better connected by <Dial>,
        which is not limited (routing/outbound/pacing.py). Seniors' legs go first."""
        kind = "senior" if senior else "agent"
        return self.engine.pacing.take(kind, self.telephony.calls_per_second)

    def _ring_and_pull(self, offer: Offer, root: str) -> None:
        """Ring the agent, and bring a caller who waits in the queue into their room.

        Nothing when another request has rung them (the caller's own poll got there first:
        they are in their room or on their way). A leg that could not be placed (or would
        wait for the account's calls per second) is tried again at the next tick for a caller
        in their room; one in the queue is pulled to be connected the classic way.
        """
        ring = self.ring_agent(offer, root)
        if ring.outcome == "rung" and not ring.in_room:
            self._pull(offer, f"{root}/voice/room")
        elif ring.outcome == "failed" and not ring.in_room:
            self._pull(offer, f"{root}/voice/connect")

    def ring_agent(self, offer: Offer, root: str) -> Ring:
        """Place the agent's leg for `offer`, once: their answer joins the caller's room, the
        whisper and the room given inline (ivr/call/agent_leg.py).

        The leg is claimed first (Router.claim_leg), so that of two requests acting on one
        offer only one rings the agent.
        """
        router = self.engine.router
        claim = (
            LegClaim("claimed", False)
            if offer.leg_claimed
            else router.claim_leg(offer.call_sid, offer.agent.id)
        )
        if claim.outcome != "claimed":
            return Ring("taken" if claim.outcome == "taken" else "none", claim.in_room)
        if not offer.leg_claimed and not claim.in_room and not self.may_ring(offer.senior):
            return Ring("failed", router.leg_failed(offer.call_sid, offer.agent.id))
        if claim.in_room and not offer.leg_claimed:
            # Rung again for a caller in their room: an earlier create may have gone
            # unanswered yet rung (it is not recorded). Look first: a second create would
            # be a second leg; with REST unable to say, try again next tick. The caller has
            # no other way to their agent, so no CPS second is asked for.
            known, leg = self._settle(offer.agent.contact, self.telephony.caller_id)
            if leg is not None:
                return self._record(offer, leg, True)
            if not known:
                return Ring("failed", router.leg_failed(offer.call_sid, offer.agent.id))
        return self.place_leg(offer, root, claim.in_room)

    def place_leg(self, offer: Offer, root: str, in_room: bool = True) -> Ring:
        """Place the claimed leg for `offer` (its CPS second taken); a create that went
        unanswered is settled by looking for the leg (Telephony.find_leg), so that an agent
        never rings twice for one caller."""
        router, settings = self.engine.router, self.engine.settings
        query = urlencode({"call": offer.call_sid, "agent": offer.agent.id})
        contact, caller_id = offer.agent.contact, self.telephony.caller_id
        made = self.telephony.call_agent(
            contact,
            caller_id,
            agent_twiml(offer, root, settings.ivr.whisper),  # no webhook at their pick-up
            f"{root}/voice/agent-status?{query}",
            settings.routing.dial_timeout,
        )
        leg = made.sid or (self._settle(contact, caller_id)[1] if made.unknown else None)
        if leg is None:
            self.engine.pacing.hold_off(REST_TROUBLE_S, self.telephony.calls_per_second)
            return Ring("failed", router.leg_failed(offer.call_sid, offer.agent.id))
        return self._record(offer, leg, in_room)

    def _record(self, offer: Offer, leg: str, in_room: bool) -> Ring:
        """Record `leg` as the offer's; one refused is ended: the caller was <Dial>ed while its
        create was out (ivr/call/voice/entering.py), or is gone, and nobody will come to the
        room it rings the agent to."""
        if not self.engine.router.agent_leg(offer.call_sid, offer.agent.id, leg, room=in_room):
            self.telephony.end(leg)
            return Ring("none", in_room)
        return Ring("rung", in_room)

    def _settle(self, contact: str, caller_id: str) -> tuple[bool, str | None]:
        """Whether REST could say, and the leg a create that went unanswered made, if Twilio
        made one; older live legs from the hotline to the same phone are orphans of such
        creates, and are ended."""
        try:
            leg, orphans = self.telephony.find_leg(contact, caller_id)
        except (TwilioException, OSError) as exc:
            # no leg is recorded: the next ring for this caller looks again before creating
            log.warning("could not look for the leg placed to %s: %s", contact, exc)
            return False, None
        for orphan in orphans:
            self.telephony.end(orphan)
        return True, leg

    def _pull(self, offer: Offer, url: str) -> bool:
        """Dequeue the caller's leg to `url` (REST), carrying the routing record's sid."""
        query = urlencode({"call": offer.call_sid})
        queue_sid = self.engine.router.queue_sid(offer.call_sid)
        return self.telephony.pull(queue_sid, offer.line_sid, f"{url}?{query}")

    def _to_open_line(self, offer: Offer, root: str) -> None:
        """Send a caller given an agent on an open line to /voice/connect, which joins them
        to the agent's room: out of the queue, or out of their own room (a call update)."""
        if not self._pull(offer, f"{root}/voice/connect"):
            query = urlencode({"call": offer.call_sid})
            self.telephony.redirect(offer.line_sid, f"{root}/voice/connect?{query}")

    def sync_lines(self, root: str) -> None:
        """Place the open lines agents want (docs/time-to-human.md, "Open lines") and close
        those of agents signed out: each a leg into the agent's own room, its TwiML inline.

        The ticker calls it every beat, so that a line whose placing failed, or whose end or
        placing was never reported, is placed again (Router.lines hands each out once)."""
        router, settings = self.engine.router, self.engine.settings
        lines = router.lines()
        failed = False
        for agent in lines.to_open:
            query = urlencode({"agent": agent.id})
            # After one failure the others are given back untried, to be tried at the
            # ticker's next beat: REST is likely away, and each try may take
            # twilio.rest_timeout of the beat
            leg = None
            if not failed:
                leg = self.telephony.call_agent(
                    agent.contact,
                    self.telephony.caller_id,
                    line_twiml(agent, root),
                    f"{root}/voice/open-line-status?{query}",
                    settings.routing.dial_timeout,
                ).sid
            if leg is None:
                failed = True
                router.open_line(agent.id, "failed")
            elif close := router.open_line(agent.id, "placed", leg).close:
                self.telephony.end(close)  # their softphone connected the line meanwhile
        for leg in lines.to_close:
            self.telephony.end(leg)

    def _place_callback(self, offer: Offer, root: str) -> None:
        query = urlencode({"call": offer.call_sid})
        kind = "visit" if offer.campaign else "callback"
        if not self.engine.pacing.take(kind, self.telephony.calls_per_second):
            # the agent stays reserved; the next tick offers it again (agent legs go first,
            # call-backs next, visits last: routing/outbound/pacing.py)
            self.engine.router.ring_later(offer.call_sid, offer.agent.id)
            return
        if offer.campaign:
            self._place_visit(offer, root, query)
            return
        sid = None
        if offer.caller_number:
            sid = self.telephony.place(
                offer.caller_number,
                self.telephony.caller_id,
                f"{root}/voice/callback-answer?{query}",
                f"{root}/voice/callback-status?{query}",
                f"{root}/voice/fallback",
                f"{root}/voice/amd?{query}",
            )
        if sid is None:
            log.warning("call-back for %s could not be placed", offer.call_sid)
            self.act(self.engine.router.callback_result(offer.call_sid, "failed"), root)

    def _place_visit(self, offer: Offer, root: str, query: str) -> None:
        """Dial a return visit's customer, their agent already reserved
        (routing/outbound/visits.py); the do-not-call list is asked once more at the moment of
        dialling."""
        number, sid = offer.caller_number, None
        if number and not self.engine.campaigns.forbidden(number):
            sid = self.telephony.place(
                number,
                self.telephony.caller_id,
                f"{root}/voice/visit-answer?{query}",
                f"{root}/voice/visit-status?{query}",
                f"{root}/voice/fallback",
                f"{root}/voice/amd?{query}&visit=1",
                visit=True,
            )
        if sid is None:
            self.act(self.engine.visits.ended(offer.call_sid, "canceled"), root)


def dispatcher() -> Dispatcher:
    """The dispatcher of the app handling this request (or of the app context)."""
    found = services.of(current_app)
    return Dispatcher(found.engine, found.telephony)


def act_on(offers: Iterable[Offer], base: str | None = None) -> None:
    """`Dispatcher.act` for the app in context: in a request, after the answer (see the
    module's docstring); elsewhere (an app context without a request), now."""
    todo = list(offers)
    if not todo:
        return
    root = base or public_base()
    run = dispatcher()
    if has_request_context():
        _after_answer(current_app._get_current_object(), lambda: run.act(todo, root))  # type: ignore[attr-defined]
    else:
        run.act(todo, root)


def conference_enabled() -> bool:
    return dispatcher().conference_enabled


def may_ring(senior: bool) -> bool:
    """`Dispatcher.may_ring` for the app in context."""
    return dispatcher().may_ring(senior)


def ring_after_answer(offer: Offer, base: str | None = None) -> None:
    """Place the claimed leg for `offer` once the webhook has answered: the caller's first
    answer never waits for REST (up to twilio.rest_timeout). The caller waits at their room's
    door meanwhile, and is <Dial>ed if the leg cannot be placed (ivr/call/voice/entering.py)."""
    root, run = base or public_base(), dispatcher()
    # the caller is at their room's door until the leg exists: in the room only once they
    # enter it (placement.connect_assigned records it)
    _later(lambda: run.place_leg(offer, root, in_room=False))


def _later(job: Callable[[], object]) -> None:
    """`job` after the webhook's answer in a request; elsewhere now."""
    if has_request_context():
        _after_answer(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    else:
        job()


def sync_lines(base: str | None = None) -> None:
    """`Dispatcher.sync_lines` for the app in context (after a webhook's answer)."""
    root, run = base or public_base(), dispatcher()
    _later(lambda: run.sync_lines(root))


def announce(offer: Offer) -> bool:
    """Tell the agent on an open line who is calling, alone, now; False if not done."""
    query = urlencode({"call": offer.call_sid, "agent": offer.agent.id})
    url = f"{public_base()}/voice/announce?{query}"
    return services.telephony().announce(offer.open_room, offer.open_leg, url)


def send_on(call_sid: str) -> None:
    """Send a caller on their way to a dropped open line to /voice/connect: their new agent,
    or their place in line (after the webhook's answer)."""
    if not call_sid:
        return
    url = f"{public_base()}/voice/connect?{urlencode({'call': call_sid})}"
    telephony = services.telephony()
    _later(functools.partial(telephony.redirect, call_sid, url))


def steer(call_sid: str, url: str) -> None:
    """Make a live call leave what it is doing for the TwiML at `url` (after the answer)."""
    if call_sid:
        _later(functools.partial(services.telephony().redirect, call_sid, url))


def end_agent_leg(call_sid: str) -> None:
    """End the agent's leg placed for a caller who has gone: still ringing, or answered into
    a room the caller has left (after the webhook's answer)."""
    if not call_sid:
        return
    telephony = services.telephony()
    if has_request_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _after_answer(app, functools.partial(telephony.end, call_sid))
    else:
        telephony.end(call_sid)


def reconnect(line_sid: str, call_sid: str, base: str | None = None) -> None:
    """Take a caller's line out of a classic <Dial> that rings an agent whose offer ended, to
    /voice/connect: their new agent, or their place in line (after the webhook's answer).

    Updating a call's Url ends what it was doing, the <Dial> and its ringing child leg
    included (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource).
    Without REST nothing can reach a ringing <Dial>: it rings until routing.dial_timeout,
    and its result, for an offer no longer theirs, changes nothing (Router.dial_result).
    """
    if not line_sid:
        return
    telephony = services.telephony()
    url = f"{base or public_base()}/voice/connect?{urlencode({'call': call_sid})}"
    if has_request_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _after_answer(app, functools.partial(telephony.redirect, line_sid, url))
    else:
        telephony.redirect(line_sid, url)


def rescue(caller_sid: str, agent_leg: str) -> None:
    """Take a caller out of a room nobody will join to the fallback line, and end the agent's
    leg placed for them, if any (after the webhook's answer).

    A live call updated with a Url leaves what it was doing and runs that document
    (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource).
    """
    if not caller_sid:
        return
    telephony = services.telephony()
    url = f"{public_base()}/voice/fallback"

    def job() -> None:
        telephony.redirect(caller_sid, url)
        if agent_leg:
            telephony.end(agent_leg)

    if has_request_context():
        _after_answer(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    else:
        job()


def _after_answer(app: Flask, job: Callable[[], object]) -> None:
    """Run `job` once the response has been sent (when the server closes it)."""

    def run() -> None:
        with app.app_context():
            try:
                job()
            except Exception:  # the answer is out; log, the engine's retries take over
                log.exception("REST work after a webhook's answer failed")

    @after_this_request
    def register(response: Response) -> Response:
        response.call_on_close(run)
        return response
