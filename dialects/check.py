"""What a dialect pack without text-to-speech is missing: prompt by prompt, whether a recording
will play, and why not (`silverline dialects check`, docs/dialect-audio.md).

Twilio's <Play> fetches the file over HTTP and plays MP3 (audio/mpeg) and WAV (audio/wav)
among others; a URL that does not answer with an audio Content-Type is error 13420
(https://www.twilio.com/docs/voice/twiml/play, https://www.twilio.com/docs/errors/13420).
The app serves dialects/audio/ with the type of the file's extension, so a recording must be
an .mp3 or .wav whose bytes are what the extension says.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from dialects.packs import PLACE, Pack, Packs

# The first bytes of each format: an MP3 starts with an ID3 tag or an MPEG frame sync.
MAGIC = {".mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3"), ".wav": (b"RIFF",)}


@dataclass(frozen=True)
class Finding:
    prompt: str
    status: str  # recorded, composed, spoken (by the fallback's TTS), broken
    detail: str  # what to record, or what is wrong
    text: str  # the prompt's words in the fallback pack: what the recording should say


def recorded_packs(packs: Packs) -> list[str]:
    """The packs that play recordings: those without a voice of their own."""
    return [code for code in packs.codes if not packs.get(code).say_voice]


def check(packs: Packs, code: str) -> list[Finding]:
    """Every prompt of the fallback pack, as pack `code` would play it."""
    pack = packs.get(code)
    speech = packs.speech_pack(code)
    return [
        _finding(packs.audio_dir / pack.code, pack, key, template)
        for key, template in sorted(speech.prompts.items())
    ]


def _finding(folder: Path, pack: Pack, key: str, template: str) -> Finding:
    entry = pack.audio.get(key)
    params = sorted({f for _, f, _, _ in string.Formatter().parse(template) if f})
    if entry is None:
        hint = f"record {key}.mp3" if not params else _segments_hint(key, params)
        return Finding(key, "spoken", f"no recording named; {hint}", template)
    if isinstance(entry, str):
        if params:
            named = ", ".join(params)
            why = f"one file for a prompt with {{{named}}}: name segments, e.g. "
            return Finding(key, "broken", why + _segments_hint(key, params), template)
        problem = _file_problem(folder / entry)
        return Finding(key, "broken" if problem else "recorded", problem or entry, template)
    places = {m[1] for s in entry if (m := PLACE.match(s))}
    problems = [p for s in entry if not PLACE.match(s) and (p := _file_problem(folder / s))]
    if set(params) - places:
        problems.append(f"no place for {{{', '.join(sorted(set(params) - places))}}}")
    if places - set(params):
        problems.append(f"{{{', '.join(sorted(places - set(params)))}}} is not in the prompt")
    if problems:
        return Finding(key, "broken", "; ".join(problems), template)
    return Finding(key, "composed", " + ".join(entry), template)


def _segments_hint(key: str, params: list[str]) -> str:
    parts = [f"{key}_1.mp3"]
    for i, p in enumerate(params, start=2):
        parts += [f"{{{p}}}", f"{key}_{i}.mp3"]
    return f"{key} = {parts}"


def _file_problem(path: Path) -> str:
    """Why Twilio could not play `path` ("" when it can)."""
    if path.suffix not in MAGIC:
        return f"{path.name}: not .mp3 or .wav"
    if not path.is_file():
        return f"{path.name}: missing"
    with path.open("rb") as f:
        head = f.read(4)
    if not head.startswith(MAGIC[path.suffix]):
        return f"{path.name}: not {path.suffix[1:].upper()} audio inside"
    return ""
