"""Answering-machine detection on a created call: what Twilio reports, and when.

Twilio listens to whoever picks up: speech longer than MachineDetectionSpeechThreshold is a
machine, speech that ends (MachineDetectionSpeechEndThreshold of silence after it) within it
is a human, no sound for MachineDetectionSilenceTimeout is `unknown`, and so is anything
undecided after MachineDetectionTimeout; `DetectMessageEnd` names a machine only once its
greeting has ended (machine_end_beep, machine_end_silence), `Enable` as soon as it knows
(machine_start). With AsyncAmd the call runs its Url at once and the result goes to
AsyncAmdStatusCallback instead (https://www.twilio.com/docs/voice/answering-machine-detection,
"Optional API tuning parameters" and "AsyncAmd"). So a senior who answers "喂？喂？您好，哪位
啊？" for longer than the speech threshold is a machine here, as on Twilio.
"""

from __future__ import annotations

from dataclasses import dataclass

FAX_TONE_S = 2.0  # a fax's CNG tone is heard within its first cadence (~3.5 s); the worse case
BEEP_S = 0.5  # from a voicemail greeting's end to its beep


@dataclass(frozen=True)
class Detection:
    """The detection a REST create asked for (Twilio's defaults unless given)."""

    mode: str = ""  # "", "Enable" or "DetectMessageEnd"
    callback: str | None = None  # AsyncAmd=true: AsyncAmdStatusCallback; None: synchronous
    callback_method: str = "POST"
    timeout_s: float = 30.0
    speech_threshold_s: float = 2.4
    speech_end_s: float = 1.2
    silence_timeout_s: float = 5.0

    @property
    def asynchronous(self) -> bool:
        return self.callback is not None


def classify(d: Detection, answers: str, speaks_s: float, greeting_s: float) -> tuple[str, float]:
    """AnsweredBy for who picked up, and the seconds after the answer it is known.

    `answers`: "person", "voicemail" or "fax"; `speaks_s`: how long a person talks on picking
    up (0: silent); `greeting_s`: a voicemail's greeting up to its beep.
    """
    end = d.mode == "DetectMessageEnd"
    if answers == "fax":
        by, at = "fax", FAX_TONE_S
    elif answers == "voicemail":
        by, at = (
            ("machine_end_beep", greeting_s + BEEP_S)
            if end
            else ("machine_start", d.speech_threshold_s)
        )
    elif speaks_s <= 0:
        by, at = "unknown", d.silence_timeout_s
    elif speaks_s > d.speech_threshold_s:  # a talkative person sounds like a greeting
        by, at = (
            ("machine_end_silence", speaks_s + d.speech_end_s)
            if end
            else ("machine_start", d.speech_threshold_s)
        )
    else:
        by, at = "human", speaks_s + d.speech_end_s
    return (by, at) if at <= d.timeout_s else ("unknown", d.timeout_s)
