"""The few Twilio REST calls the app makes: pull a caller out of a queue, place a call-back,
ask how a call stands."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.settings import Settings

log = logging.getLogger("silverline.telephony")

# Twilio lets a created call ring about 5 s past its Timeout, for some call flows
# (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource, Timeout): an
# agent's leg given routing.dial_timeout would ring ~5 s longer, and its miss be heard ~5 s
# late, so the leg asks for that much less (docs/real-network.md, "Ring time").
RING_BUFFER_S = 5


def rest_client(settings: Settings, http_client: Any = None) -> Client:
    """twilio-python's client on the account's credentials, at `twilio.api_base_url` if set.

    Bounded by `twilio.rest_timeout`: twilio-python's HTTP client waits without limit unless
    given a timeout (twilio/http/http_client.py, `timeout=None`).
    """
    timeout = settings.twilio.rest_timeout
    if http_client is None:
        http_client = TwilioHttpClient(timeout=timeout)
    elif getattr(http_client, "timeout", None) is None:
        http_client.timeout = timeout  # an injected client (the offline Twilio's)
    client = Client(
        settings.secrets.account_sid, settings.secrets.auth_token, http_client=http_client
    )
    if settings.twilio.api_base_url:
        client.api.base_url = settings.twilio.api_base_url.rstrip("/")
    return client


# A call ringing, or queued at the account's CPS: what a leg whose create went unanswered may
# be by now (https://www.twilio.com/docs/voice/api/call-resource, "status")
_PENDING = ("queued", "ringing", "in-progress")


@dataclass(frozen=True)
class Created:
    """What became of a create: its CallSid, or none and whether Twilio may have made it."""

    sid: str | None
    unknown: bool = False  # no answer came (a timeout, a dropped connection): it may exist


class Telephony:
    """twilio-python's REST client (`rest_client`), when credentials (or a simulator) are
    configured."""

    def __init__(self, settings: Settings, http_client: Any = None) -> None:
        self.caller_id = settings.twilio.caller_id  # the hotline's number, our calls' From
        self.calls_per_second = settings.twilio.calls_per_second  # the account's CPS
        self._settings = settings.twilio
        self.enabled = bool(
            settings.secrets.twilio_account_sid or settings.twilio.api_base_url or http_client
        )
        self._client: Client | None = None
        if self.enabled:
            self._client = rest_client(settings, http_client)

    def pull(self, queue_sid: str, call_sid: str, url: str) -> bool:
        """Dequeue `call_sid` from `queue_sid` to run the TwiML at `url`; False if not done."""
        if self._client is None or not queue_sid:
            return False
        try:
            self._client.queues(queue_sid).members(call_sid).update(url=url, method="POST")
        except (TwilioException, OSError) as exc:
            log.warning("could not pull call %s from queue %s: %s", call_sid, queue_sid, exc)
            return False
        return True

    def place(
        self,
        to: str,
        from_: str,
        url: str,
        status_callback: str,
        fallback_url: str,
        amd_callback: str,
        *,
        visit: bool = False,
    ) -> str | None:
        """Place a senior's call-back (or a return visit's call) running `url`; its CallSid,
        or None if it failed.

        With asynchronous answering-machine detection: `url` runs the moment they answer
        (the senior is greeted and put through at once, never kept in silence while Twilio
        listens), and the result goes to `amd_callback`, where a machine is asked once for a
        key or a word before the call-back counts as failed
        (https://www.twilio.com/docs/voice/answering-machine-detection#asyncamd). A visit
        uses `DetectMessageEnd`: a machine is reported once its greeting has ended (the beep),
        so that the short message said then is what the voicemail keeps
        (https://www.twilio.com/docs/voice/answering-machine-detection#machinedetection).
        """
        document = _document(url, fallback_url)
        detect = self._detection("DetectMessageEnd" if visit else "Enable", amd_callback)
        return self._attempt(to, from_, document, status_callback, 60, **detect).sid

    def _detection(self, mode: str, callback: str) -> dict[str, str]:
        """Create Call's answering-machine detection parameters, the thresholds from settings."""
        t = self._settings
        return {
            "machine_detection": mode,
            "async_amd": "true",
            "async_amd_status_callback": callback,
            "async_amd_status_callback_method": "POST",
            "machine_detection_timeout": str(t.amd_timeout),
            "machine_detection_speech_threshold": str(t.amd_speech_threshold),
            "machine_detection_speech_end_threshold": str(t.amd_speech_end_threshold),
            "machine_detection_silence_timeout": str(t.amd_silence_timeout),
        }

    def call_agent(
        self, to: str, from_: str, twiml: str, status_callback: str, timeout: int
    ) -> Created:
        """Ring an agent (their leg runs `twiml` once they answer): its CallSid, or none and
        whether it may have been made all the same (`Created.unknown`: see `find_leg`).

        The TwiML goes inline (`Twiml`, at most 4,000 characters): Twilio runs it at the
        pick-up without fetching a URL
        (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource).
        `timeout` is how long the agent may ring in all: Twilio adds its ring buffer to the
        Timeout a created call is given, so that much less is asked for.
        """
        asked = max(1, timeout - RING_BUFFER_S)
        return self._attempt(to, from_, {"twiml": twiml}, status_callback, asked)

    def find_leg(self, to: str, from_: str) -> tuple[str | None, list[str]]:
        """The newest live call from `from_` to `to` and any older ones; (None, []) if none.

        How a create whose answer never came is settled: an agent has at most one offer at a
        time, so a live call from the hotline to their phone is the leg for that offer, and
        any other one is an orphan to end. Read with Twilio's list filters To and From
        (https://www.twilio.com/docs/voice/api/call-resource#read-multiple-call-resources).
        Raises OSError or TwilioException when REST cannot say.
        """
        if self._client is None:
            return None, []
        # one request, newest calls first; a live leg is among the newest of its phone's
        calls = self._client.calls.list(to=to, from_=from_, limit=20)
        sids = [str(call.sid) for call in calls if str(call.status) in _PENDING]
        return (sids[0], sids[1:]) if sids else (None, [])

    def announce(self, room_sid: str, call_sid: str, url: str) -> bool:
        """Play the TwiML at `url` to one participant of a conference, the others hearing
        nothing of it; False if not done. `AnnounceUrl` on a Participant update: "The URL we
        call ... for an announcement to the participant", a document of Play, Say, Pause and
        Redirect (https://www.twilio.com/docs/voice/api/conference-participant-resource
        #update-a-participant-resource)."""
        if self._client is None or not room_sid or not call_sid:
            return False
        try:
            participant = self._client.conferences(room_sid).participants(call_sid)
            participant.update(announce_url=url, announce_method="POST")
        except (TwilioException, OSError) as exc:
            log.warning("could not announce to %s in %s: %s", call_sid, room_sid, exc)
            return False
        return True

    def redirect(self, call_sid: str, url: str) -> bool:
        """Make a live call leave what it is doing and run the TwiML at `url`; False if not
        done (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource)."""
        if self._client is None or not call_sid:
            return False
        try:
            self._client.calls(call_sid).update(url=url, method="POST")
        except (TwilioException, OSError) as exc:
            log.warning("could not redirect call %s: %s", call_sid, exc)
            return False
        return True

    def end(self, call_sid: str) -> bool:
        """Hang up a call, ringing or answered (Status=completed); False if not done.

        `canceled` would stop only a call still queued or ringing; `completed` hangs up one in
        progress too (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource).
        """
        if self._client is None or not call_sid:
            return False
        try:
            self._client.calls(call_sid).update(status="completed")
        except (TwilioException, OSError) as exc:
            log.warning("could not end call %s: %s", call_sid, exc)
            return False
        return True

    def _attempt(
        self,
        to: str,
        from_: str,
        document: dict[str, str],
        status_callback: str,
        timeout: int,
        **extra: str,
    ) -> Created:
        """Place a call running `document`: made, refused by Twilio, or unknown (no answer)."""
        if self._client is None:
            return Created(None)
        try:
            call = self._client.calls.create(
                to=to,
                from_=from_,
                **document,
                status_callback=status_callback,
                status_callback_event=["completed"],
                status_callback_method="POST",
                timeout=timeout,
                **extra,
            )
        except TwilioRestException as exc:  # Twilio answered: no call was made
            log.warning("could not place a call: %s", exc)
            return Created(None)
        except (TwilioException, OSError) as exc:  # no answer: the call may exist
            log.warning("placing a call went unanswered: %s", exc)
            return Created(None, unknown=True)
        return Created(str(call.sid))

    def call_status(self, call_sid: str) -> str | None:
        """The call's status as Twilio's Call resource gives it; None if it cannot be asked.

        One of queued, ringing, in-progress, completed, busy, failed, no-answer, canceled
        (https://www.twilio.com/docs/voice/api/call-resource, "status"); the last five are final.
        """
        if self._client is None or not call_sid:
            return None
        try:
            call = self._client.calls(call_sid).fetch()
        except (TwilioException, OSError) as exc:
            log.warning("could not look up call %s: %s", call_sid, exc)
            return None
        return str(call.status) if call.status else None


def _document(url: str, fallback_url: str) -> dict[str, str]:
    """What a placed call runs: `url`, and `fallback_url` if fetching or running it fails.

    Without a FallbackUrl a call-back or visit whose first webhook fails leaves the senior
    with Twilio's error message and a hang-up; with it Twilio requests the fallback instead
    ("FallbackUrl: The URL that we call ... if an error occurs when requesting or executing
    the TwiML at url", https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource).
    """
    return {"url": url, "method": "POST", "fallback_url": fallback_url, "fallback_method": "POST"}
