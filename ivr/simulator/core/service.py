"""The offline Twilio as a long-lived service on the wall clock: `silverline twilio-local`.

One `Simulator` in real time behind HTTP, as Twilio is to a production server: its REST API
(rest.RestApi: Calls, Queues and Members, Conferences and Participants) at /2010-04-01/...,
signed webhooks to the app, every call's state kept. Endpoints of its own under /local/:

| request | what it does |
|---|---|
| `POST /local/calls` (JSON caller) | a caller dials the hotline (keys, words, patience) |
| `GET /local/calls/<sid>` | the call as it stands, with the transcript of its legs |
| `POST /local/calls/<sid>` `Status=completed` | the caller hangs up |
| `GET /local/sessions/<id>` | a follower's calls as they stand; keeps them alive (`?open=1`) |
| `DELETE /local/sessions/<id>` | the follower is gone: its callers hang up |
| `POST /local/phones` (JSON) | agents' phones: seconds to answer, seconds of talk, open line |
| `POST /local/clients/<identity>` | a console's phone: a beat (`on`), a button, `connect` |
| `POST /local/rest` (JSON `down`) | the REST API's outage: every request answers 503 (20503) |
| `GET /local` | what it is: the hotline's number, the app's URL, calls live |

A follower (`silverline call --url`) places its callers under a session and reads them back
at least every LEASE_S seconds; a session not read for that long belongs to a command that
was killed, and its callers hang up, so that the app hears the status callback and frees the
agent, as it does when a person puts the phone down.

Threads: the scheduler runs the time line on one thread and holds `lock` except while it
waits for its next event or for the app's answer to a webhook (the app's REST requests come
in meanwhile, as they do inside a webhook). An HTTP thread takes the lock, brings the clock to
the wall's time, reads or schedules, and wakes the scheduler.
"""

from __future__ import annotations

import base64
import json
import math
import random
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound, Unauthorized
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ivr.simulator.core.account import Application
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, Input, People, VirtualCaller
from ivr.simulator.core.rest import RestApi, _body
from ivr.simulator.core.steps import Steps
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport, Reply, Transport

LEASE_S = 5.0  # a session not read for this long: its follower was killed
CLIENT_ALIVE_S = 30.0  # a console's phone counts as on this long after a beat (three beats)
WATCH_S = 1.0  # how often sessions are looked at
BUTTONS = ("answer", "decline", "hangup")
# A REST outage answers as Twilio's API does when it is down: HTTP 503, error 20503
# (https://www.twilio.com/docs/api/errors/20503), having done nothing; the webhooks still come.
OUTAGE = {
    "code": 20503,
    "message": "Service unavailable",
    "more_info": "https://www.twilio.com/docs/errors/20503",
    "status": 503,
}
DEFAULT_PHONE = {"answer_after": 3.0, "talk": 10.0}  # a demo agent: rings 3 s, talks 10 s


class WallClock:
    """A settable clock that starts at the wall's time (the scheduler moves it)."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


@dataclass
class Client:
    """A console's demo phone registered for an identity: its last beat, its last button."""

    seen: float
    pressed: tuple[str, str] = ("", "")  # button, the agent's leg it was pressed for


class Phones(People):
    """Agents' phones as the service's settings say: a console's by its buttons, else by
    the answer and talk seconds set for the address (or the defaults), at each new leg.

    An agent on an open line ends a conversation as the console's End call does, taking the
    caller's leg off (REST Status=completed); hanging up their own leg would drop the line."""

    def __init__(self, service: LocalTwilio) -> None:
        super().__init__(random.Random(), auto_answer=True)
        self._service = service
        # address -> answer_after, talk (seconds), open_line (1: on an open line)
        self.settings: dict[str, dict[str, float]] = {}

    def reach(self, address: str) -> AgentPhone | VirtualCaller | None:
        if address in self.callers:
            return self.callers[address]
        phone = self.agents.get(address) or self.add_agent(address)
        self.apply(phone)
        phone.buttons = self._service.buttons_of(address)
        return phone

    def apply(self, phone: AgentPhone) -> None:
        """Give `phone` the settings for its address (a line answered before they were set
        ends its next conversation as they say)."""
        address = phone.address
        options = {**DEFAULT_PHONE, **self.settings.get("*", {}), **self.settings.get(address, {})}
        phone.answer_delay_s = (options["answer_after"], options["answer_after"])
        # "aht": conversations drawn around a mean (simulate's), else every one "talk" long
        phone.talk_s = None if "aht" in options else options["talk"]
        phone.aht_s = options.get("aht", phone.aht_s)
        phone.open_line = bool(options.get("open_line", 0))


@dataclass
class _Session:
    seen: float
    calls: list[str] = field(default_factory=list)


class _Unlocked:
    """Send a webhook with the lock let go: the app's REST requests, made while it answers,
    must get in, as they do at Twilio.

    Those requests take effect before the answer's TwiML runs: Twilio accepted them before it
    had the answer, and so does the in-process Twilio, which runs them as they come. Left to
    the scheduler's next turn, an announcement to an open line's agent asked for inside the
    caller's webhook started after the caller had joined, and the caller was bridged over it.
    """

    def __init__(self, inner: Transport, lock: threading.Lock, posted: Callable[[], None]) -> None:
        self._inner, self._lock, self._posted = inner, lock, posted

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        self._lock.release()
        try:
            reply = self._inner.send(method, url, form, headers)
        finally:
            self._lock.acquire()
        self._posted()
        return reply


_URLS = Map(
    [
        Rule("/local", endpoint="about", methods=["GET"]),
        Rule("/local/calls", endpoint="place", methods=["POST"]),
        Rule("/local/calls/<sid>", endpoint="call", methods=["GET"]),
        Rule("/local/calls/<sid>", endpoint="hang_up", methods=["POST"]),
        Rule("/local/sessions/<name>", endpoint="session", methods=["GET"]),
        Rule("/local/sessions/<name>", endpoint="leave", methods=["DELETE"]),
        Rule("/local/phones", endpoint="set_phones", methods=["POST"]),
        Rule("/local/clients/<identity>", endpoint="client", methods=["POST"]),
        Rule("/local/rest", endpoint="set_rest", methods=["POST"]),
    ]
)


class LocalTwilio:
    """The offline Twilio serving one hotline number whose webhooks go to `app_url`."""

    def __init__(
        self,
        app_url: str,
        number: str,
        *,
        account_sid: str,
        auth_token: str,
        seconds_per_char: float = 0.2,
        transport: Transport | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.phones = Phones(self)
        self.sim = Simulator(
            clock=WallClock(),
            speed=1.0,
            account_sid=account_sid,
            auth_token=auth_token,
            seconds_per_char=seconds_per_char,
            people=self.phones,
            unique_sids=True,
        )
        self.sim.sched.lock = self.lock
        self.sim.connect(
            _Unlocked(transport or HttpTransport(), self.lock, self.sim.sched.run_posted)
        )
        self.app_url = app_url.rstrip("/")
        self.number = number
        self._hotline_number()
        self.app_sid = self._softphone_app()
        self.rest = RestApi(self.sim, self.sim.sched.post)
        self.clients: dict[str, Client] = {}
        self.sessions: dict[str, _Session] = {}
        # leg placed with inline TwiML -> rooms it dials: in their callers' transcripts from
        # the first ring, not from the join (4 s later: a 3 s answer, the 1 s whisper)
        self.rooms_of: dict[str, set[str]] = {}
        self._urls = _URLS

    def _hotline_number(self) -> None:
        """The hotline's number, its webhooks on the app as `silverline twilio setup` sets them."""
        self.sim.add_number(
            self.number,
            f"{self.app_url}/voice/incoming",
            status_callback=f"{self.app_url}/voice/status",
            fallback_url=f"{self.app_url}/voice/fallback",
        )

    def _softphone_app(self) -> str:
        """The consoles' TwiML App, as `silverline twilio setup` makes it: a Device's outgoing
        call (`connect`) runs its Voice URL, its end goes to its StatusCallback."""
        app = Application(
            "AP" + "0" * 32,
            self.sim.now(),
            friendly_name="Silverline softphone",
            voice_url=f"{self.app_url}/voice/softphone-line",
            status_callback=f"{self.app_url}/voice/open-line-status",
        )
        self.sim.account.applications[app.sid] = app
        return app.sid

    # -- the time line ------------------------------------------------------------------

    def run(self) -> None:
        """Run the time line until `stop()` (the watch over sessions keeps it going)."""
        self.sim.sched.spawn(self._watch())
        self.sim.run()

    def stop(self) -> None:
        """End `run()` from another thread."""
        self.sim.sched.post(self.sim.sched.stop)

    def _watch(self) -> Steps:
        """Hang up the callers of sessions nobody reads any more (their follower was killed)."""
        while True:
            now = self.sim.now()
            for name, session in list(self.sessions.items()):
                if now - session.seen > LEASE_S:
                    self._end_session(name, "its follower went away")
            yield WATCH_S

    def _end_session(self, name: str, why: str) -> None:
        session = self.sessions.pop(name, None)
        for sid in session.calls if session else []:
            if sid in self.sim.live:
                self.sim.hang_up(sid, why)

    # -- the phones -----------------------------------------------------------------------

    def buttons_of(self, address: str) -> Callable[[], str] | None:
        """The buttons of a console open for `address` now, else None (answered by itself)."""
        identity = address.removeprefix("client:")
        if not address.startswith("client:") or not self._client_on(identity):
            return None

        def buttons() -> str:
            if not self._client_on(identity):
                return "hangup"  # the console has gone: the agent has left the call
            button, leg_sid = self.clients[identity].pressed
            return button if leg_sid in self._legs_to(address) else ""

        return buttons

    def _client_on(self, identity: str) -> bool:
        client = self.clients.get(identity)
        return client is not None and self.sim.now() - client.seen <= CLIENT_ALIVE_S

    def _legs_to(self, address: str) -> dict[str, str]:
        """Live legs ringing or talking on `address`'s phone: sid -> status."""
        legs = (self.sim.legs[sid] for sid in self.sim.live)
        return {leg.sid: leg.status for leg in legs if leg.to == address}

    def client_state(self, identity: str) -> dict[str, Any]:
        legs = self._legs_to(f"client:{identity}")
        ringing = [sid for sid, status in legs.items() if status == "ringing"]
        talking = [sid for sid, status in legs.items() if status == "in-progress"]
        return {
            "local": True,
            "on": self._client_on(identity),
            "ringing": ringing[0] if ringing else None,
            "talking": talking[0] if talking else None,
        }

    # -- HTTP ---------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/2010-04-01/"):
            response = self._rest(request)
        else:
            response = self._local(request)
        return response(environ, start_response)

    def _rest(self, request: Request) -> Response:
        form: dict[str, Any] = {}
        for key, values in request.values.lists():
            form[key] = values[0] if len(values) == 1 else values
        if self.sim.rest_down:
            return Response(json.dumps(OUTAGE), 503, mimetype="application/json")
        with self._now():
            status, body = self.rest.handle(request.method, request.path, form, _auth(request))
            if status == 201 and request.path.endswith("/Calls.json"):
                self.rooms_of[str(body["sid"])] = _rooms(str(form.get("Twiml") or ""))
        return Response(_body(status, body), status, mimetype="application/json")

    def _local(self, request: Request) -> Response:
        try:
            if _auth(request) != (self.sim.account_sid, self.sim.auth_token):
                raise Unauthorized("the account's sid and auth token, as for the REST API")
            endpoint, args = self._urls.bind_to_environ(request.environ).match()
            with self._now():
                status, body = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            status, body = exc.code or 500, {"error": exc.description}
        except (ValueError, TypeError, KeyError) as exc:
            status, body = 400, {"error": f"bad request: {exc}"}
        return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")

    def _now(self) -> _OnTimeLine:
        return _OnTimeLine(self)

    def _about(self, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, {
            "local_twilio": True,
            "number": self.number,
            "app": self.app_url,
            "live": len(self.sim.live),
        }

    def _place(self, request: Request) -> tuple[int, dict[str, Any]]:
        spec = _json(request)
        caller = _caller(spec, self.sim)
        name = str(spec.get("session") or "")
        to = str(spec.get("to") or self.number)
        if to not in self.sim.numbers:
            return 400, {"error": f"{to} is not a number of this account"}
        leg = self.sim.place_call(caller, to, float(spec.get("delay", 0.0)))
        if name:
            self.sessions.setdefault(name, _Session(self.sim.now())).calls.append(leg.sid)
        return 201, self.call_json(leg, transcript=False)

    def _call(self, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
        leg = self._leg(sid)
        for session in self.sessions.values():
            if sid in session.calls:
                session.seen = self.sim.now()
        return 200, self.call_json(leg, transcript=True)

    def _hang_up(self, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
        leg = self._leg(sid)
        if request.form.get("Status") != "completed":
            return 400, {"error": "Status=completed is the only change a caller makes"}
        if not leg.ended:
            self.sim.hang_up(sid, "the caller hung up")
        return 200, self.call_json(leg, transcript=False)

    def _session(self, request: Request, name: str) -> tuple[int, dict[str, Any]]:
        session = self.sessions.get(name)
        if session is None and request.args.get("open"):  # a follower starting: before its calls
            session = self.sessions[name] = _Session(self.sim.now())
        if session is None:
            raise NotFound(f"no session {name}")
        session.seen = self.sim.now()
        calls = [self.call_json(self.sim.legs[sid], transcript=False) for sid in session.calls]
        return 200, {"calls": calls}

    def _leave(self, request: Request, name: str) -> tuple[int, dict[str, Any]]:
        live = [s for s in self.sessions.get(name, _Session(0.0)).calls if s in self.sim.live]
        self._end_session(name, "its follower left")
        return 200, {"hung_up": live}

    def _set_phones(self, request: Request) -> tuple[int, dict[str, Any]]:
        """Per address ("*": every agent): answer_after, talk (or aht, a mean), in seconds;
        open_line."""
        for address, options in dict(_json(request)).items():
            keys = ("answer_after", "talk", "aht")
            wanted = {k: float(options[k]) for k in keys if k in options}
            if any(not math.isfinite(v) or v < 0 for v in wanted.values()):
                return 400, {"error": f"{address}: seconds must be finite and not negative"}
            if "open_line" in options:
                if not isinstance(options["open_line"], bool):
                    return 400, {"error": f"{address}: open_line must be true or false"}
                wanted["open_line"] = float(options["open_line"])
            self.phones.settings[str(address)] = wanted
        for phone in self.phones.agents.values():
            self.phones.apply(phone)
        return 200, {"phones": self.phones.settings}

    def _set_rest(self, request: Request) -> tuple[int, dict[str, Any]]:
        """`down`: true takes the REST API down (503 to every request), false brings it back."""
        down = _json(request).get("down")
        if not isinstance(down, bool):
            return 400, {"error": "down must be true or false"}
        self.sim.rest_down = down
        return 200, {"rest_down": down}

    def _client(self, request: Request, identity: str) -> tuple[int, dict[str, Any]]:
        """`button=on`: the console is open; a button acts on the agent's leg `leg`."""
        button, leg_sid = request.form.get("button", ""), request.form.get("leg", "")
        client = self.clients.setdefault(identity, Client(self.sim.now()))
        if button == "on":
            client.seen = self.sim.now()
        elif button == "connect":  # Device.connect: the TwiML App's Voice URL, its params
            client.seen = self.sim.now()
            purpose = request.form.get("purpose", "")
            self.sim.client_call(identity, self.app_sid, {"purpose": purpose} if purpose else {})
        elif button in BUTTONS:
            if leg_sid not in self._legs_to(f"client:{identity}"):
                return 409, {"error": "that call is not ringing or talking on this phone"}
            client.pressed, client.seen = (button, leg_sid), self.sim.now()
        else:
            return 400, {"error": f"unknown button {button!r}"}
        return 200, self.client_state(identity)

    def _leg(self, sid: str) -> Leg:
        leg = self.sim.legs.get(sid)
        if leg is None:
            raise NotFound(f"no call {sid}")
        return leg

    # -- what a call went through -------------------------------------------------------

    def related(self, leg: Leg) -> list[Leg]:
        """The call and its agents' legs: dialled from it, or in its room."""
        found = {leg.sid: leg}
        for other in self.sim.legs.values():
            if other.parent_sid == leg.sid or leg.sid in self.rooms_of.get(other.sid, ()):
                found[other.sid] = other
        for conf in self.sim.conferences.by_sid.values():
            if conf.name == leg.sid or leg.sid in conf.calls:
                found.update((sid, self.sim.legs[sid]) for sid in conf.calls)
        return list(found.values())

    def call_json(self, leg: Leg, *, transcript: bool) -> dict[str, Any]:
        """The call as it stands; times in seconds on the service's time line."""
        body: dict[str, Any] = {
            "sid": leg.sid,
            "from": leg.from_,
            "to": leg.to,
            "status": leg.status,
            "ended": leg.ended,
            "duration": leg.duration(),
            "now": self.sim.now(),
            "created_at": leg.created_at,
            "routed_at": leg.routed_at,
            "enqueued_at": leg.enqueued_at,
            "agent_answered_at": leg.agent_answered_at,
            "bridged_at": leg.bridged_at,
            "ended_at": leg.ended_at,
        }
        if transcript:
            legs = self.related(leg)
            shared = {id(x.transcript): x.transcript for x in legs}
            lines = sorted((line for t in shared.values() for line in t), key=lambda x: x.at)
            body["transcript"] = [
                {"at": x.at, "party": x.party, "kind": x.kind, "text": x.text} for x in lines
            ]
            sids = {x.sid for x in legs}
            body["errors"] = [
                {"code": f.code, "message": f.message, "url": f.url}
                for f in self.sim.faults
                if f.call_sid in sids
            ]
        return body


class _OnTimeLine:
    """Hold the time line for one request: the clock brought to now, the scheduler woken after."""

    def __init__(self, service: LocalTwilio) -> None:
        self._service = service

    def __enter__(self) -> None:
        self._service.lock.acquire()
        self._service.sim.sched.catch_up()

    def __exit__(self, *exc: object) -> None:
        self._service.lock.release()
        self._service.sim.sched.post(lambda: None)  # what was scheduled may be due sooner


def _auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _rooms(twiml: str) -> set[str]:
    """The conferences inline TwiML dials (none if it is not TwiML)."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return set()
    return {(el.text or "").strip() for el in root.iter("Conference")}


def _json(request: Request) -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ValueError("a JSON object is expected")
    return data


def _inputs(raw: object) -> list[Input]:
    if not isinstance(raw, list):
        return []
    return [
        Input(
            digits=item.get("digits"),
            speech=item.get("speech"),
            after=float(item.get("after", 1.0)),
            confidence=float(item.get("confidence", 0.92)),
        )
        for item in raw
        if isinstance(item, dict)
    ]


def _caller(spec: Mapping[str, Any], sim: Simulator) -> VirtualCaller:
    """A caller from its JSON: `from`, `inputs`, `patience_s` (null: never gives up) and the
    rest of people.VirtualCaller's fields."""
    number = str(spec["from"])
    patience = spec.get("patience_s")
    return VirtualCaller(
        number,
        sim.rng,
        inputs=_inputs(spec.get("inputs")),
        patience_s=math.inf if patience is None else float(patience),
        senior=bool(spec.get("senior", False)),
        accept_callback=bool(spec.get("accept_callback", False)),
        answer_delay_s=float(spec.get("answer_delay_s", 3.0)),
        label=str(spec.get("label", "other")),
        answers=str(spec.get("answers", "person")),
        wait_inputs=_inputs(spec.get("wait_inputs")),
        message_s=float(spec.get("message_s", 0.0)),
        patience_from=str(spec.get("patience_from", "routing")),
    )
