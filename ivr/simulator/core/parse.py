"""Parse and check TwiML as Twilio does: which verbs may run where, and what is malformed.

A document is checked against the context it runs in (the call itself, a <Gather>, an
<Enqueue> wait URL, a <Number>/<Client> whisper, a <Queue> url). Bad XML is error 12100;
an unknown verb, a verb not allowed in its context or a bad value is error 12200 and stops
the document; an unknown attribute is only a 12200 warning, as on Twilio.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

MAX_BYTES = 64 * 1024

CALL, GATHER, WAIT, WHISPER, QUEUE_URL = "call", "gather", "wait", "whisper", "queue-url"
CONFERENCE_WAIT = "conference-wait"

ALLOWED: dict[str, frozenset[str]] = {
    CALL: frozenset(
        {"Say", "Play", "Pause", "Gather", "Redirect", "Enqueue", "Dial", "Hangup", "Reject"}
        | {"Leave", "Record"}
    ),
    GATHER: frozenset({"Say", "Play", "Pause"}),
    WAIT: frozenset({"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"}),
    # https://www.twilio.com/docs/voice/twiml/number#url: the called party's document "may
    # not contain the <Dial> verb"; Gather and Hangup are named, and its Redirect runs on
    WHISPER: frozenset({"Play", "Say", "Pause", "Gather", "Hangup", "Redirect"}),
    QUEUE_URL: frozenset({"Play", "Say", "Pause", "Redirect"}),
    # https://www.twilio.com/docs/api/errors/13238: a <Conference> waitUrl (and holdUrl,
    # announceUrl) may only Say, Play, Pause and Redirect
    CONFERENCE_WAIT: frozenset({"Play", "Say", "Pause", "Redirect"}),
}
# Twilio's own error number for a verb refused in a context, where it has one
_REFUSED = {CONFERENCE_WAIT: 13238}

_CALLBACK = {"statusCallback", "statusCallbackEvent", "statusCallbackMethod"}
ATTRIBUTES: dict[str, frozenset[str]] = {
    "Say": frozenset({"voice", "language", "loop"}),
    "Play": frozenset({"loop", "digits"}),
    "Pause": frozenset({"length"}),
    "Gather": frozenset(
        {"action", "method", "timeout", "speechTimeout", "numDigits", "finishOnKey", "input"}
        | {"language", "hints", "actionOnEmptyResult", "partialResultCallback"}
        | {"partialResultCallbackMethod", "profanityFilter", "speechModel", "enhanced"}
        | {"bargeIn", "maxSpeechTime", "debug"}
    ),
    "Redirect": frozenset({"method"}),
    # https://www.twilio.com/docs/voice/twiml/record#attributes
    "Record": frozenset(
        {"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim"}
        | {"recordingStatusCallback", "recordingStatusCallbackMethod"}
        | {"recordingStatusCallbackEvent", "transcribe", "transcribeCallback"}
    ),
    "Enqueue": frozenset(
        {"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"}
    ),
    "Dial": frozenset(
        {"action", "method", "timeout", "callerId", "answerOnBridge", "ringTone", "timeLimit"}
        | {"hangupOnStar", "record", "recordingStatusCallback", "recordingStatusCallbackMethod"}
        | {"recordingStatusCallbackEvent", "recordingTrack", "trim", "sequential", "referUrl"}
        | {"referMethod", "callReason"}
    ),
    "Number": frozenset({"sendDigits", "url", "method", "machineDetection"} | _CALLBACK),
    "Client": frozenset({"url", "method", "clientNotificationUrl"} | _CALLBACK),
    "Queue": frozenset({"url", "method", "reservationSid", "postWorkActivitySid"}),
    # https://www.twilio.com/docs/voice/twiml/conference#attributes
    "Conference": frozenset(
        {"muted", "beep", "startConferenceOnEnter", "endConferenceOnExit", "waitUrl"}
        | {"waitMethod", "maxParticipants", "record", "region", "coach", "trim"}
        | {"participantLabel", "jitterBufferSize", "eventCallbackUrl"}
        | {"recordingStatusCallback", "recordingStatusCallbackMethod"}
        | {"recordingStatusCallbackEvent"}
        | _CALLBACK
    ),
    "Hangup": frozenset(),
    "Leave": frozenset(),
    "Reject": frozenset({"reason"}),
}
_SSML = frozenset(
    {"break", "emphasis", "lang", "p", "s", "phoneme", "prosody", "say-as", "sub", "w"}
    | {"amazon-effect", "amazon-domain"}
)
_DIAL_NOUNS = frozenset({"Number", "Client", "Queue", "Conference"})
_CONFERENCE_EVENTS = frozenset(
    {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
)
_GATHER_INPUTS = frozenset({"dtmf", "speech", "dtmf speech", "speech dtmf"})
_FINISH_KEYS = frozenset("0123456789#*") | {""}
# Chinese Gather codes Twilio accepts (zh-CN / zh-HK are Say codes, not Gather codes).
_CHINESE_GATHER = frozenset({"cmn-Hans-CN", "cmn-Hans-HK", "cmn-Hant-TW", "yue-Hant-HK", "zh"})
_CHINESE_GATHER_ALL = _CHINESE_GATHER | {"zh-TW"}
# Say's codes (twilio-node SayLanguage, plus Polly Hiujin's yue-CN): not the Gather codes
_CHINESE_SAY = frozenset({"cmn-CN", "cmn-TW", "yue-HK", "yue-CN"})


class TwimlError(Exception):
    """A document Twilio would refuse; `code` is Twilio's error number."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Document:
    """A checked TwiML document: its verbs in order, and any warnings."""

    verbs: list[ET.Element]
    warnings: list[TwimlError] = field(default_factory=list)


def parse(body: str, context: str = CALL) -> Document:
    """Parse `body` and check it for `context`; raise TwimlError as Twilio would fail it."""
    if len(body.encode()) > MAX_BYTES:
        raise TwimlError(11750, "TwiML response body is over 64 kB")
    if not body.startswith("<"):
        raise TwimlError(12100, "document parse failure: content before the XML declaration")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(12100, f"document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(12100, f"document parse failure: root is <{root.tag}>, not <Response>")
    doc = Document(list(root))
    for verb in doc.verbs:
        check_verb(verb, context, doc.warnings)
    return doc


def check_verb(verb: ET.Element, context: str, warnings: list[TwimlError]) -> None:
    """Raise TwimlError if `verb` may not run in `context` or is malformed."""
    if verb.tag not in ATTRIBUTES:
        raise TwimlError(12200, f"<{verb.tag}> is not a TwiML verb")
    if verb.tag not in ALLOWED[context]:
        code = _REFUSED.get(context, 12200)
        raise TwimlError(code, f"<{verb.tag}> is not allowed in a {context} document")
    _check_attributes(verb, warnings)
    _CHECKS.get(verb.tag, _no_check)(verb, warnings)


def _check_attributes(el: ET.Element, warnings: list[TwimlError]) -> None:
    for name in el.attrib:
        if name not in ATTRIBUTES[el.tag]:
            warnings.append(TwimlError(12200, f"<{el.tag}> has no attribute '{name}'"))


def _no_check(verb: ET.Element, warnings: list[TwimlError]) -> None:
    del verb, warnings


def _check_say(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _integer(verb, "loop", 0)
    for child in verb.iter():
        tag = child.tag.replace(":", "-")
        if child is not verb and tag not in _SSML:
            raise TwimlError(12200, f"<{child.tag}> is not SSML Twilio accepts inside <Say>")
    # Warnings, not errors: Twilio logs an invalid voice (13511) or language (13512) and the
    # call goes on (https://www.twilio.com/docs/api/errors/13511, .../13512).
    if verb.get("voice", "") == "Polly.Hiujin":
        warnings.append(TwimlError(13511, "invalid voice Polly.Hiujin (Polly.Hiujin-Neural)"))
    language = verb.get("language", "")
    if re.match(r"^(cmn|yue)-", language) and language not in _CHINESE_SAY:
        warnings.append(TwimlError(13512, f"<Say language='{language}'> is not a Say language"))


def _check_play(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _integer(verb, "loop", 0)
    if len(verb):
        raise TwimlError(12200, "<Play> takes a URL, not child elements")


def _check_pause(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _integer(verb, "length", 0)


def _check_gather(verb: ET.Element, warnings: list[TwimlError]) -> None:
    if verb.get("input", "dtmf") not in _GATHER_INPUTS:
        raise TwimlError(12200, f"<Gather input='{verb.get('input')}'> is not a valid input")
    if verb.get("finishOnKey", "#") not in _FINISH_KEYS:
        raise TwimlError(12200, f"<Gather finishOnKey='{verb.get('finishOnKey')}'> is invalid")
    _integer(verb, "numDigits", 1)
    _integer(verb, "timeout", 0)
    if verb.get("speechTimeout", "auto") != "auto":
        _integer(verb, "speechTimeout", 0)
    elif verb.get("speechTimeout"):
        # https://www.twilio.com/docs/api/errors/13335: "auto" is refused with the default model
        # (its title) and with any model set (its text), so always: a warning, the Gather runs
        warnings.append(TwimlError(13335, "speechTimeout auto cannot be used with model default"))
    _method(verb, "method")
    language = verb.get("language", "en-US")
    if re.match(r"^(zh|cmn|yue)\b", language) and language not in _CHINESE_GATHER_ALL:
        raise TwimlError(12200, f"<Gather language='{language}'> is not a speech language")
    for child in verb:
        if child.tag not in ALLOWED[GATHER]:
            raise TwimlError(12200, f"<{child.tag}> is not allowed inside <Gather>")
        if child.tag == "Play" and child.get("digits"):
            raise TwimlError(12200, "<Play digits> is not allowed inside <Gather>")
        check_verb(child, GATHER, warnings)


def _check_redirect(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _method(verb, "method")
    if not (verb.text or "").strip():
        raise TwimlError(12200, "<Redirect> needs a URL")


def _check_enqueue(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _method(verb, "method")
    _method(verb, "waitUrlMethod")
    name = (verb.text or "").strip()
    if not name and not verb.get("workflowSid"):
        raise TwimlError(12200, "<Enqueue> needs a queue name")
    if len(name) > 64:
        raise TwimlError(12200, "<Enqueue> queue names are at most 64 characters")


def _check_dial(verb: ET.Element, warnings: list[TwimlError]) -> None:
    _method(verb, "method")
    timeout = _integer(verb, "timeout", 1)
    if timeout is not None and not 1 <= timeout <= 600:
        raise TwimlError(12200, f"<Dial timeout='{timeout}'> is outside 1-600")
    nouns = list(verb)
    if not nouns and not (verb.text or "").strip():
        raise TwimlError(12200, "<Dial> has nothing to dial")
    for noun in nouns:
        if noun.tag not in _DIAL_NOUNS:
            raise TwimlError(12200, f"<{noun.tag}> is not a <Dial> noun the simulator knows")
        _check_attributes(noun, warnings)
        _method(noun, "method")
        if noun.tag != "Client" and len(noun):
            raise TwimlError(12200, f"<{noun.tag}> takes text, not child elements")
    if len([n for n in nouns if n.tag in ("Number", "Client")]) > 10:
        raise TwimlError(12200, "<Dial> rings at most 10 numbers or clients")
    conferences = [n for n in nouns if n.tag == "Conference"]
    if conferences and len(nouns) > 1:
        raise TwimlError(12200, "<Dial> takes one <Conference> and nothing else")
    for noun in conferences:
        _check_conference(noun, warnings)


def _check_conference(noun: ET.Element, warnings: list[TwimlError]) -> None:
    """Twilio's own numbers: 13231 is an error, 13232-13234 only warnings."""
    name = (noun.text or "").strip()
    if not name:
        raise TwimlError(12200, "<Conference> needs a room name")
    if noun.get("endConferenceOnExit", "false") not in ("true", "false"):
        raise TwimlError(13231, "endConferenceOnExit must be true or false")
    if noun.get("startConferenceOnEnter", "true") not in ("true", "false"):
        warnings.append(TwimlError(13232, "startConferenceOnEnter must be true or false"))
    if noun.get("waitMethod", "POST").upper() not in ("GET", "POST"):
        warnings.append(TwimlError(13234, "waitMethod must be GET or POST"))
    if noun.get("beep", "true") not in ("true", "false", "onEnter", "onExit"):
        raise TwimlError(12200, f"<Conference beep='{noun.get('beep')}'> is invalid")
    if noun.get("muted", "false") not in ("true", "false"):
        raise TwimlError(12200, f"<Conference muted='{noun.get('muted')}'> is invalid")
    size = _integer(noun, "maxParticipants", 2)
    if size is not None and size > 250:
        raise TwimlError(12200, "<Conference maxParticipants> is at most 250")
    for word in noun.get("statusCallbackEvent", "").split():
        if word not in _CONFERENCE_EVENTS:
            raise TwimlError(12200, f"<Conference statusCallbackEvent='{word}'> is unknown")


def _check_reject(verb: ET.Element, warnings: list[TwimlError]) -> None:
    if verb.get("reason", "rejected") not in ("rejected", "busy"):
        raise TwimlError(12200, f"<Reject reason='{verb.get('reason')}'> is invalid")


def _integer(el: ET.Element, name: str, low: int) -> int | None:
    raw = el.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit() or int(raw) < low:
        raise TwimlError(12200, f"<{el.tag} {name}='{raw}'> must be an integer >= {low}")
    return int(raw)


def _method(el: ET.Element, name: str) -> None:
    if el.get(name, "POST").upper() not in ("GET", "POST"):
        raise TwimlError(12200, f"<{el.tag} {name}='{el.get(name)}'> must be GET or POST")


_CHECKS = {
    "Say": _check_say,
    "Play": _check_play,
    "Pause": _check_pause,
    "Gather": _check_gather,
    "Redirect": _check_redirect,
    "Enqueue": _check_enqueue,
    "Dial": _check_dial,
    "Reject": _check_reject,
}


def spoken_text(say: ET.Element) -> str:
    """The words of a <Say>, SSML tags removed."""
    return "".join(say.itertext()).strip()


# SSML's named speaking rates as shares of the voice's own rate. SSML 1.1 leaves their values
# to the synthesiser (https://www.w3.org/TR/speech-synthesis11/#S3.2.4) and Amazon Polly calls
# them approximate (https://docs.aws.amazon.com/polly/latest/dg/voice-speed-change-vip.html);
# these are even steps around medium = 100 %.
NAMED_RATES = {
    "x-slow": 0.5,
    "slow": 0.75,
    "medium": 1.0,
    "default": 1.0,
    "fast": 1.5,
    "x-fast": 2.0,
}


def prosody_rate(raw: str | None, inherited: float = 1.0) -> float:
    """A <prosody rate> as a share of the voice's own rate (0.8 for "80%").

    No rate keeps the enclosing one. A percentage multiplies the voice's default rate
    (SSML 1.1); a value Twilio does not understand is spoken at the default rate, with
    warning 13513 (https://www.twilio.com/docs/api/errors/13513).
    """
    if raw is None:
        return inherited
    value = raw.strip().lower()
    if value in NAMED_RATES:
        return NAMED_RATES[value]
    if value.endswith("%"):
        try:
            share = float(value[:-1]) / 100
        except ValueError:
            return 1.0
        return share if share > 0 else 1.0
    return 1.0


def spoken_parts(say: ET.Element) -> list[tuple[str, float]]:
    """The words of a <Say> in order, each with its speaking rate (1.0 = the voice's own)."""
    parts: list[tuple[str, float]] = []

    def walk(el: ET.Element, rate: float) -> None:
        if el is not say and el.tag == "prosody":
            rate = prosody_rate(el.get("rate"), rate)
        if el.text:
            parts.append((el.text, rate))
        for child in el:
            walk(child, rate)
            if child.tail:
                parts.append((child.tail, rate))

    walk(say, 1.0)
    return _strip_ends(parts)


def _strip_ends(parts: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Drop the blanks around the whole text, as spoken_text does."""
    while parts and not parts[0][0].strip():
        parts.pop(0)
    while parts and not parts[-1][0].strip():
        parts.pop()
    if parts:
        parts[0] = (parts[0][0].lstrip(), parts[0][1])
        parts[-1] = (parts[-1][0].rstrip(), parts[-1][1])
    return parts
