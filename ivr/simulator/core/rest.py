"""The REST surface twilio-python talks to: calls, queue members, conferences, participants,
and the account's own resources (account.py: Account, IncomingPhoneNumbers, Keys, Applications).

Serve it in-process as a `twilio.http.HttpClient` (`RestClient`, for
`twilio.rest.Client(..., http_client=...)`), or over HTTP as a WSGI app (`wsgi_app`) for a
live server whose `twilio.api_base_url` points at it. Either way the action itself runs on
the simulator's time line: in-process at once (it only schedules), over HTTP through the
scheduler's inbox.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from ivr.simulator.core import account
from ivr.simulator.core.amd import Detection
from ivr.simulator.core.calls import API_VERSION, Leg
from ivr.simulator.core.conferences import Conference, Conferences, Participant
from ivr.simulator.core.queues import Queue
from ivr.simulator.core.steps import Fetch, Inline, Target
from ivr.simulator.core.switchboard import Switchboard

# For some call flows Twilio lets a created call ring about 5 s past its `Timeout`: a timeout
# of 10 s can ring for ~15 s (the Call resource's Timeout parameter,
# https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource). The emulator
# always adds the whole buffer: the worse case for whoever waits on the ring.
RING_BUFFER_S = 5

MAX_TWIML = 4000
_PREFIX = rf"^/{API_VERSION}/Accounts/(?P<ac>AC\w+)"
_PARTICIPANTS = r"/Conferences/(?P<cf>[^/]+)/Participants"
_PARTICIPANT = _PARTICIPANTS + r"/(?P<call>[^/]+)\.json$"
_ROUTES = [
    ("POST", re.compile(_PREFIX + r"/Calls\.json$"), "create_call"),
    ("GET", re.compile(_PREFIX + r"/Calls/(?P<sid>CA\w+)\.json$"), "fetch_call"),
    ("POST", re.compile(_PREFIX + r"/Calls/(?P<sid>CA\w+)\.json$"), "update_call"),
    ("GET", re.compile(_PREFIX + r"/Queues\.json$"), "list_queues"),
    ("GET", re.compile(_PREFIX + r"/Queues/(?P<qu>QU\w+)\.json$"), "fetch_queue"),
    ("GET", re.compile(_PREFIX + r"/Queues/(?P<qu>QU\w+)/Members\.json$"), "list_members"),
    (
        "GET",
        re.compile(_PREFIX + r"/Queues/(?P<qu>QU\w+)/Members/(?P<sid>CA\w+|Front)\.json$"),
        "fetch_member",
    ),
    (
        "POST",
        re.compile(_PREFIX + r"/Queues/(?P<qu>QU\w+)/Members/(?P<sid>CA\w+|Front)\.json$"),
        "update_member",
    ),
    ("GET", re.compile(_PREFIX + r"/Conferences\.json$"), "list_conferences"),
    ("GET", re.compile(_PREFIX + r"/Conferences/(?P<cf>CF\w+)\.json$"), "fetch_conference"),
    ("POST", re.compile(_PREFIX + r"/Conferences/(?P<cf>CF\w+)\.json$"), "update_conference"),
    # The Participants path takes a conference sid or friendly name (error 16003, "Could not
    # recognize conference sid or friendly name": https://www.twilio.com/docs/api/errors/16003)
    ("GET", re.compile(_PREFIX + _PARTICIPANTS + r"\.json$"), "list_participants"),
    ("POST", re.compile(_PREFIX + _PARTICIPANTS + r"\.json$"), "create_participant"),
    ("GET", re.compile(_PREFIX + _PARTICIPANT), "fetch_participant"),
    ("POST", re.compile(_PREFIX + _PARTICIPANT), "update_participant"),
    ("DELETE", re.compile(_PREFIX + _PARTICIPANT), "delete_participant"),
    *account.ROUTES,
]

Answer = tuple[int, dict[str, Any]]


class Switch(Switchboard, Protocol):
    """The switchboard with its conference rooms: everything the REST surface answers about.

    The rooms are named here, not in switchboard.py, because conferences.py builds on the
    Switchboard itself.
    """

    conferences: Conferences


_NO_CONTENT: Answer = (204, {})


class RestError(Exception):
    """An API error, answered as Twilio's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RestApi(account.AccountApi):
    """Route API requests to the simulator; `act` runs the state change on its time line."""

    sim: Switch

    def __init__(self, sim: Switch, act: Callable[[Callable[[], Any]], None]) -> None:
        self.sim = sim
        self._act = act
        self.requests: list[tuple[str, str, dict[str, Any]]] = []  # what the app asked for

    def handle(
        self, method: str, path: str, form: Mapping[str, Any], auth: tuple[str, str] | None
    ) -> Answer:
        """Answer one request: (HTTP status, JSON body)."""
        self.requests.append((method, path, dict(form)))
        try:
            main = self._authorise(auth)
            for verb, pattern, name in _ROUTES:
                found = pattern.match(path)
                if found and verb == method:
                    self._account(found.group("ac"))
                    self._permitted(name, main)
                    args = {k: v for k, v in found.groupdict().items() if k != "ac"}
                    answer: Answer = getattr(self, name)(form, **args)
                    return answer
            raise RestError(404, 20404, f"The requested resource {path} was not found")
        except RestError as err:
            return err.status, _error(err)

    def _authorise(self, auth: tuple[str, str] | None) -> bool:
        """Accept the account's sid and auth token (True) or one of its API keys (False)."""
        if auth == (self.sim.account_sid, self.sim.auth_token):
            return True
        if auth is not None and auth[1] and self.key_secret(auth[0]) == auth[1]:
            return False
        raise RestError(401, 20003, "Authenticate")

    def _permitted(self, route: str, main: bool) -> None:
        """A Standard key may not use Accounts or Keys (account.py); the account's refusals."""
        if not main and route in account.MAIN_ONLY:
            raise RestError(401, 20003, "Authenticate: a Standard API key may not use this")
        refused = self.sim.account.refused.get(route)
        if refused is not None:
            raise RestError(*refused)

    def _raise(self, status: int, code: int, message: str) -> Any:
        raise RestError(status, code, message)

    def _account(self, account_sid: str) -> None:
        if account_sid != self.sim.account_sid:
            raise RestError(404, 20404, f"Account {account_sid} not found")

    # -- calls --------------------------------------------------------------------------

    def create_call(self, form: Mapping[str, Any]) -> Answer:
        to, from_ = _one(form, "To"), _one(form, "From")
        if not to or not from_:
            raise RestError(400, 21201, "To and From are required")
        target = _target(form)
        if target is None:
            raise RestError(400, 21205, "Url, Twiml or ApplicationSid is required")
        events = frozenset(_many(form, "StatusCallbackEvent") or ["completed"])
        leg = self.sim.create_call(
            to,
            from_,
            target,
            timeout=int(_one(form, "Timeout") or 60) + RING_BUFFER_S,
            status_callback=_one(form, "StatusCallback") or None,
            status_method=(_one(form, "StatusCallbackMethod") or "POST").upper(),
            status_events=events,
            fallback_url=_one(form, "FallbackUrl") or None,
            detection=_detection(form),
        )
        return 201, self.call_json(leg)

    def fetch_call(self, form: Mapping[str, Any], sid: str) -> Answer:
        return 200, self.call_json(self._leg(sid))

    def update_call(self, form: Mapping[str, Any], sid: str) -> Answer:
        leg = self._leg(sid)
        status, target = _one(form, "Status"), _target(form)
        if status in ("completed", "canceled"):
            if status == "canceled" and leg.status not in ("queued", "ringing"):
                return 200, self.call_json(leg)  # Twilio ignores canceling an answered call
            self._act(lambda: self.sim.hang_up(sid, f"REST Status={status}"))
        elif target is not None:
            if leg.ended:
                raise RestError(400, 21220, "Call is not in-progress. Cannot redirect.")
            self._act(lambda: self.sim.redirect(sid, target))
        else:
            raise RestError(400, 21205, "Url, Twiml or Status is required")
        return 200, self.call_json(leg)

    def _leg(self, sid: str) -> Leg:
        leg = self.sim.legs.get(sid)
        if leg is None:
            raise RestError(404, 20404, f"The requested resource Call {sid} was not found")
        return leg

    def call_json(self, leg: Leg) -> dict[str, Any]:
        return {
            "sid": leg.sid,
            "account_sid": leg.account_sid,
            "to": leg.to,
            "from": leg.from_,
            "status": leg.status,
            "direction": leg.direction,
            "parent_call_sid": leg.parent_sid,
            "api_version": API_VERSION,
            "date_created": self._date(leg.created_at),
            "duration": str(leg.duration()) if leg.ended else None,
            "uri": f"/{API_VERSION}/Accounts/{leg.account_sid}/Calls/{leg.sid}.json",
        }

    # -- queues -------------------------------------------------------------------------

    def list_queues(self, form: Mapping[str, Any]) -> Answer:
        queues = [self.queue_json(q) for q in self.sim.queues.by_sid.values()]
        return 200, _page("queues", queues, f"/{API_VERSION}/Accounts/{self.sim.account_sid}")

    def fetch_queue(self, form: Mapping[str, Any], qu: str) -> Answer:
        return 200, self.queue_json(self._queue(qu))

    def list_members(self, form: Mapping[str, Any], qu: str) -> Answer:
        queue = self._queue(qu)
        members = [self.member_json(queue, m.call_sid) for m in queue.members]
        return 200, _page("queue_members", members, self.queue_json(queue)["uri"])

    def fetch_member(self, form: Mapping[str, Any], qu: str, sid: str) -> Answer:
        queue = self._queue(qu)
        return 200, self.member_json(queue, self._member(queue, sid))

    def update_member(self, form: Mapping[str, Any], qu: str, sid: str) -> Answer:
        """Dequeue: the member leaves the queue and runs the TwiML at Url."""
        queue = self._queue(qu)
        call_sid = self._member(queue, sid)
        url = _one(form, "Url")
        if not url:
            raise RestError(400, 21205, "Url is required")
        body = self.member_json(queue, call_sid)
        target = Fetch(url, (_one(form, "Method") or "POST").upper())
        self._act(lambda: self.sim.dequeue(queue, call_sid, target))
        return 200, body

    def _queue(self, qu: str) -> Queue:
        queue = self.sim.queues.by_sid.get(qu)
        if queue is None:
            raise RestError(404, 20404, f"The requested resource Queue {qu} was not found")
        return queue

    def _member(self, queue: Queue, sid: str) -> str:
        member = queue.member(sid)
        if member is None:
            raise RestError(404, 20404, f"Call {sid} is not a member of queue {queue.sid}")
        return member.call_sid

    def queue_json(self, queue: Queue) -> dict[str, Any]:
        return {
            "sid": queue.sid,
            "account_sid": self.sim.account_sid,
            "friendly_name": queue.name,
            "current_size": len(queue.members),
            "max_size": queue.max_size,
            "average_wait_time": queue.average_wait(),
            "date_created": self._date(queue.created_at),
            "uri": f"/{API_VERSION}/Accounts/{self.sim.account_sid}/Queues/{queue.sid}.json",
        }

    def member_json(self, queue: Queue, call_sid: str) -> dict[str, Any]:
        member = queue.member(call_sid)
        enqueued = member.enqueued_at if member else self.sim.now()
        return {
            "call_sid": call_sid,
            "queue_sid": queue.sid,
            "position": queue.position(call_sid),
            "wait_time": int(self.sim.now() - enqueued),
            "date_enqueued": self._date(enqueued),
            "uri": f"/{API_VERSION}/Accounts/{self.sim.account_sid}/Queues/{queue.sid}"
            f"/Members/{call_sid}.json",
        }

    # -- conferences ----------------------------------------------------------------------

    def list_conferences(self, form: Mapping[str, Any]) -> Answer:
        """Conferences, filtered by FriendlyName and Status as the Conference page lists."""
        name, status = _one(form, "FriendlyName"), _one(form, "Status")
        if status and status not in ("init", "in-progress", "completed"):
            raise RestError(400, 20001, f"Status must be init, in-progress or completed: {status}")
        found = [
            self.conference_json(c)
            for c in self.sim.conferences.by_sid.values()
            if (not name or c.name == name) and (not status or c.status == status)
        ]
        return 200, _page("conferences", found, f"/{API_VERSION}/Accounts/{self.sim.account_sid}")

    def fetch_conference(self, form: Mapping[str, Any], cf: str) -> Answer:
        return 200, self.conference_json(self._conference(cf))

    def update_conference(self, form: Mapping[str, Any], cf: str) -> Answer:
        """Status=completed ends the conference for everyone in it."""
        conf = self._conference(cf)
        status = _one(form, "Status")
        if _one(form, "AnnounceUrl"):
            raise RestError(400, 20001, "AnnounceUrl is not modelled by the offline Twilio")
        if status != "completed":
            raise RestError(400, 20001, f"Status must be completed, not {status!r}")
        if conf.status != "completed":
            self._act(lambda: self.sim.conferences.end(conf, "conference-ended-via-api"))
        return 200, self.conference_json(conf)

    def _conference(self, cf: str) -> Conference:
        conf = self.sim.conferences.find(unquote(cf))
        if conf is None:
            raise RestError(404, 20404, f"The requested resource Conference {cf} was not found")
        return conf

    def conference_json(self, conf: Conference) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.sim.account_sid}/Conferences/{conf.sid}"
        return {
            "sid": conf.sid,
            "account_sid": self.sim.account_sid,
            "friendly_name": conf.name,
            "status": conf.status,
            "region": "us1",
            "api_version": API_VERSION,
            "date_created": self._date(conf.created_at),
            "date_updated": self._date(conf.updated_at),
            "reason_conference_ended": conf.reason_ended,
            "call_sid_ending_conference": conf.call_sid_ending,
            "uri": f"{uri}.json",
            "subresource_uris": {
                "participants": f"{uri}/Participants.json",
                "recordings": f"{uri}/Recordings.json",
            },
        }

    # -- participants -------------------------------------------------------------------

    def list_participants(self, form: Mapping[str, Any], cf: str) -> Answer:
        """Participants connecting or connected; none once the conference has ended."""
        conf = self._conference(cf)
        wanted = {k: _one(form, k) == "true" for k in ("Muted", "Hold", "Coaching") if k in form}
        found = [
            self.participant_json(conf, p)
            for p in conf.participants.values()
            if all(_participant_flag(p, k) == v for k, v in wanted.items())
        ]
        uri = self.conference_json(conf)["subresource_uris"]["participants"]
        return 200, _page("participants", found, uri)

    def create_participant(self, form: Mapping[str, Any], cf: str) -> Answer:
        """Call To; the answered callee joins the conference, which is created if need be."""
        to, from_ = _one(form, "To"), _one(form, "From")
        if not to or not from_:
            raise RestError(400, 21201, "To and From are required")
        name = unquote(cf)
        conf = self.sim.conferences.find(name)
        if conf is None and re.fullmatch(r"CF[0-9a-f]{32}", name):
            raise RestError(404, 16003, f"Could not recognize conference sid {name}")
        conf = conf if conf is not None else self.sim.conferences.room(name)
        if conf.status == "completed":
            raise RestError(400, 16003, f"Conference {conf.sid} has ended")
        options = {k: _one(form, k) for k in form}
        options["StatusCallbackEvent"] = " ".join(_many(form, "StatusCallbackEvent"))
        options["ConferenceStatusCallbackEvent"] = " ".join(
            _many(form, "ConferenceStatusCallbackEvent")
        )
        clean = {k: v for k, v in options.items() if v}
        part = self.sim.conferences.add(conf, to, from_, clean)
        return 201, {**self.participant_json(conf, part), "queue_time": "0"}

    def fetch_participant(self, form: Mapping[str, Any], cf: str, call: str) -> Answer:
        conf = self._conference(cf)
        return 200, self.participant_json(conf, self._participant(conf, call))

    def update_participant(self, form: Mapping[str, Any], cf: str, call: str) -> Answer:
        """Muted, Hold, EndConferenceOnExit, AnnounceUrl; the rest are refused plainly."""
        conf = self._conference(cf)
        part = self._participant(conf, call)
        known = {"Muted", "Hold", "EndConferenceOnExit", "BeepOnExit", "AnnounceUrl"}
        unmodelled = sorted(set(form) - known)
        unmodelled = [k for k in unmodelled if not k.endswith("Method")]
        if unmodelled:
            raise RestError(400, 20001, f"{', '.join(unmodelled)}: not modelled offline")
        changes = {k: _one(form, k) == "true" for k in ("Muted", "Hold", "EndConferenceOnExit")}
        changes = {k: v for k, v in changes.items() if k in form}
        self._act(lambda: self.sim.conferences.update(conf, part, changes))
        if url := _one(form, "AnnounceUrl"):
            method = (_one(form, "AnnounceMethod") or "POST").upper()
            self._act(lambda: self.sim.conferences.announce(conf, part, url, method))
        return 200, {**self.participant_json(conf, part), **_flags(changes)}

    def delete_participant(self, form: Mapping[str, Any], cf: str, call: str) -> Answer:
        """Kick: the participant's <Dial> ends; their call goes on to its action."""
        conf = self._conference(cf)
        part = self._participant(conf, call)
        self._act(lambda: self.sim.conferences.kick(conf, part))
        return _NO_CONTENT

    def _participant(self, conf: Conference, call: str) -> Participant:
        part = conf.member(unquote(call))
        if part is None:
            raise RestError(404, 20404, f"Participant {call} is not in conference {conf.sid}")
        return part

    def participant_json(self, conf: Conference, part: Participant) -> dict[str, Any]:
        uri = self.conference_json(conf)["subresource_uris"]["participants"]
        return {
            "account_sid": self.sim.account_sid,
            "call_sid": part.call_sid,
            "conference_sid": conf.sid,
            "label": part.label or None,
            "call_sid_to_coach": part.coach or None,
            "coaching": bool(part.coach),
            "muted": part.muted,
            "hold": part.hold,
            "start_conference_on_enter": part.start_on_enter,
            "end_conference_on_exit": part.end_on_exit,
            "status": self.sim.conferences.participant_status(part),
            "date_created": self._date(part.created_at),
            "date_updated": self._date(part.updated_at),
            "uri": uri.replace(".json", f"/{part.call_sid}.json"),
        }

    def _date(self, at: float) -> str:
        start = self.sim.clock.now() - timedelta(seconds=self.sim.now() - at)
        return format_datetime(start, usegmt=True)


def _one(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value)


def _many(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _participant_flag(part: Participant, name: str) -> bool:
    return {"Muted": part.muted, "Hold": part.hold, "Coaching": bool(part.coach)}[name]


def _flags(changes: dict[str, bool]) -> dict[str, bool]:
    """The answer shows an update at once, though the switch applies it on its time line."""
    names = {"Muted": "muted", "Hold": "hold", "EndConferenceOnExit": "end_conference_on_exit"}
    return {names[k]: v for k, v in changes.items()}


def _detection(form: Mapping[str, Any]) -> Detection:
    """The answering-machine detection a create asks for: MachineDetection, AsyncAmd and the
    tuning parameters, Twilio's defaults where not given
    (https://www.twilio.com/docs/voice/answering-machine-detection)."""
    mode = _one(form, "MachineDetection")
    if mode not in ("", "Enable", "DetectMessageEnd"):
        raise RestError(400, 21219, f"MachineDetection {mode!r} is not Enable or DetectMessageEnd")
    asynchronous = _one(form, "AsyncAmd").lower() == "true"
    callback = _one(form, "AsyncAmdStatusCallback") or None
    default = Detection()

    def number(name: str, fallback: float, scale: float, low: float, high: float) -> float:
        raw = _one(form, name)
        if not raw:
            return fallback
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise RestError(400, 21219, f"{name} must be between {low:g} and {high:g}")
        return int(raw) / scale

    return Detection(
        mode=mode,
        # Without a callback Twilio has nowhere to send the result (warning 21262): none comes
        callback=(callback or "") if asynchronous and mode else None,
        callback_method=(_one(form, "AsyncAmdStatusCallbackMethod") or "POST").upper(),
        timeout_s=number("MachineDetectionTimeout", default.timeout_s, 1, 3, 59),
        speech_threshold_s=number(
            "MachineDetectionSpeechThreshold", default.speech_threshold_s, 1000, 1000, 6000
        ),
        speech_end_s=number(
            "MachineDetectionSpeechEndThreshold", default.speech_end_s, 1000, 500, 5000
        ),
        silence_timeout_s=number(
            "MachineDetectionSilenceTimeout", default.silence_timeout_s, 1000, 2000, 10000
        ),
    )


def _target(form: Mapping[str, Any]) -> Target | None:
    twiml = _one(form, "Twiml")
    if twiml:
        if len(twiml) > MAX_TWIML:
            raise RestError(400, 32018, "Twiml is over 4000 characters")
        return Inline(twiml)
    url = _one(form, "Url")
    return Fetch(url, (_one(form, "Method") or "POST").upper()) if url else None


def _body(status: int, body: dict[str, Any]) -> str:
    """The JSON answer; a 204 (a deleted participant) has no body at all."""
    return "" if status == 204 else json.dumps(body)


def _error(err: RestError) -> dict[str, Any]:
    return {
        "code": err.code,
        "message": err.message,
        "more_info": f"https://www.twilio.com/docs/errors/{err.code}",
        "status": err.status,
    }


def _page(key: str, items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
    return {
        key: items,
        "page": 0,
        "page_size": 50,
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": uri,
    }


class RestClient(HttpClient):  # type: ignore[misc]
    """An in-process `twilio.http.HttpClient`: twilio-python's requests go to the simulator."""

    def __init__(self, sim: Switch) -> None:
        super().__init__(logger=None, is_async=False)
        self.api = RestApi(sim, lambda action: action())
        self.reachable = True  # False: every request fails as a refused connection does

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        if not self.reachable:
            raise ConnectionRefusedError(f"the offline Twilio REST API is down ({uri})")
        self._network(timeout if timeout is not None else self.timeout)
        form = {**(params or {}), **(data or {})}
        status, body = self.api.handle(method.upper(), urlsplit(uri).path, form, auth)
        date = format_datetime(self.api.sim.clock.now(), usegmt=True)
        return TwilioResponse(status, _body(status, body), headers={"Date": date})

    def _network(self, timeout: float | None) -> None:
        """The API's latency and outages (rest_* on the switch), as requests' client meets them.

        The seconds a request takes are charged to the simulator (`rest_charged`); a request
        inside a webhook makes the webhook that much slower (transport.FlaskTransport). Raises
        the OSError subclasses a real client raises: refused, or timed out.
        """
        sim = self.api.sim
        if sim.rest_down:
            raise ConnectionRefusedError("the Twilio API cannot be reached")
        latency = sim.rest_latency_s
        sim.rest_charged += latency if timeout is None else min(latency, timeout)
        if timeout is not None and latency > timeout:
            raise TimeoutError(f"the Twilio API did not answer within {timeout} s")


def wsgi_app(sim: Switch) -> Callable[..., Iterable[bytes]]:
    """The same API as a WSGI app; state changes go through the scheduler's inbox."""
    api = RestApi(sim, sim.sched.post)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        form: dict[str, Any] = {}
        for key, value in _form_items(environ):
            form.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        status, body = api.handle(method, environ.get("PATH_INFO", ""), flat, _basic(environ))
        raw = _body(status, body).encode()
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [raw]

    return app


def _form_items(environ: dict[str, Any]) -> list[tuple[str, str]]:
    items = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        body = environ["wsgi.input"].read(length).decode()
        items += parse_qsl(body, keep_blank_values=True)
    return items


def _basic(environ: dict[str, Any]) -> tuple[str, str] | None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password
