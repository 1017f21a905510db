"""Return visits (docs/campaigns.md): progressive dialling of the campaigns' customers.

Each ticker beat asks `start` for the visits it may begin: for every active campaign, its
customers due now (Campaigns.due: in hours in their own time zone, not on a holiday, not on
the do-not-call list), one by one, each with an idle agent reserved for them atomically by the
routing script (Router.visit) until none is left that inbound callers do not need. The call
flow places the calls (ivr/call/visits.py) and reports how each ended (`ended`); the agent's
wrap-up code is the customer's outcome (`wrapped_up`). Every attempt is logged on the
customer's entry: when, which agent, how it ended.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import time

from routing.callers.directory import Directory
from routing.clock import Clock
from routing.outbound.campaigns import VISIT_CODES, Campaign, CampaignError, Campaigns, Target
from routing.queues.router import CallInfo, Offer, Router, Visit

_AT = re.compile(r"\b([01]?\d|2[0-3])[:：]([0-5]\d)\b")
# What became of a visit's routing record when its call ended -> the attempt's outcome.
_ENDED = {"done": "talked", "gone": "hung_up"}
_STATUS = {"machine": "voicemail", "completed": "no_person"}


class Visits:
    """Start return visits and keep their outcomes."""

    def __init__(
        self, campaigns: Campaigns, router: Router, directory: Directory, clock: Clock
    ) -> None:
        self.campaigns, self.router, self.directory, self.clock = (
            campaigns,
            router,
            directory,
            clock,
        )

    def start(self) -> list[Offer]:
        """Reserve agents for the visits due now; the offers to act on (the visits' among
        them: the call flow places those calls)."""
        offers: list[Offer] = []
        if not self.router.anyone_idle():
            return offers  # the usual case on a busy floor: no campaign's list is read
        for campaign in self.campaigns.all():
            if campaign.state != "active":
                continue
            for target in self.campaigns.due(campaign.name):
                visit = self._reserve(campaign, target)
                offers += visit.offers
                if visit.why == "share":
                    return offers  # the campaigns' share of agents is used up
                if visit.why == "no_agent":
                    break  # nobody for this campaign's queue now; another's may have someone
        return offers

    def ended(self, sid: str, status: str) -> list[Offer]:
        """A visit's call ended with Twilio's `status` (or "machine": a voicemail answered):
        the engine frees or finishes its agent, and the attempt is logged. The offers to act on."""
        offers = self.router.callback_result(sid, status)
        info = self.router.call(sid)
        if info is None or not info.campaign or not info.caller_number:
            return offers
        outcome = _ENDED.get(info.state)
        if info.state == "unreached":
            outcome = _STATUS.get(status, status)
        if outcome:
            self.campaigns.attempt_over(info.campaign, info.caller_number, sid, outcome)
        return offers

    def wrapped_up(self, info: CallInfo, code: str, note: str, at: str = "") -> None:
        """The agent's wrap-up `code` for visit `info` (codes outside VISIT_CODES are left to
        the statistics). For call_back_later the time is `at` or the first HH:MM of `note`,
        in the customer's own time zone."""
        if not info.campaign or not info.caller_number or code not in VISIT_CODES:
            return
        when = parse_at(at or note) if code == "call_back_later" else None
        if at and when is None:
            raise CampaignError(f"the time to call back is HH:MM, not {at!r}")
        if code == "do_not_call":  # never again, by any campaign
            self.campaigns.forbid(info.caller_number)
        self.campaigns.record_outcome(info.campaign, info.caller_number, info.call_sid, code, when)

    def _reserve(self, campaign: Campaign, target: Target) -> Visit:
        found = self.directory.identify(target.number, self.clock.now())
        # a campaign of the senior queue is a campaign of older customers: the banner shows
        caller = replace(found, senior=found.senior or campaign.queue == "senior")
        sid = visit_sid(campaign.name, target.number, target.attempts + 1)
        visit = self.router.visit(
            sid, caller, campaign.queue, campaign.name, campaign.reason, target.name
        )
        if visit.offer is not None:
            self.campaigns.started(campaign, target.number, sid, visit.offer.agent.id)
        return visit


def visit_sid(campaign: str, number: str, attempt: int) -> str:
    """The routing record's name of one attempt: the same for a repeat (so one attempt holds
    one agent), and no phone number in it (it travels in URLs and the statistics stream)."""
    seed = f"{campaign}|{number}|{attempt}".encode()
    return "VS" + hashlib.sha256(seed).hexdigest()[:32]


def parse_at(text: str) -> time | None:
    """The first HH:MM in `text` ("15:00", "下午 15：30"), or None."""
    found = _AT.search(text or "")
    return time(int(found.group(1)), int(found.group(2))) if found else None
