"""Language packs: what each prompt says in each dialect, and with which Twilio voice.

A pack is a TOML file in dialects/packs/. Packs with a Twilio text-to-speech voice (Mandarin,
Cantonese, English) hold every prompt as text. Packs for dialects no TTS engine speaks
(Shanghainese, Minnan, Sichuanese) name a recording per prompt under dialects/audio/<code>/
and fall back, prompt by prompt, to their `fallback` pack where a recording is missing.

A prompt that carries parameters (the greeting names the hotline, the wait names a position)
is recorded in segments: its [audio] entry is a list of files and `{parameter}` places, e.g.
`wait_position = ["wait_before.mp3", "{position}", "wait_after.mp3"]`. A parameter is played
from `values/<parameter>/<value>.mp3` when that recording exists, else spoken by the fallback
pack's voice. docs/dialect-audio.md says how an operator records a pack; `silverline dialects
check` lists what a pack is missing.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

PACK_DIR = Path(__file__).parent / "packs"
AUDIO_DIR = Path(__file__).parent / "audio"
DEFAULT = "mandarin"
# An optional part of a prompt: "来电人{name}[，{age}岁]" drops "，{age}岁" when the age is unknown.
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Say:
    """A prompt spoken by Twilio's TTS."""

    text: str
    voice: str
    language: str


@dataclass(frozen=True)
class Play:
    """A recorded prompt, served by the app at /dialects/audio/<code>/<file>."""

    path: str  # "<code>/<file>", relative to the audio directory


@dataclass(frozen=True)
class Composed:
    """A prompt of recorded segments and spoken parameters, played in order."""

    parts: tuple[Say | Play, ...]


Utterance = Say | Play | Composed
# Where a spoken prompt's first words end: the first pause its text marks (Chinese and Latin
# commas, colons, full stops), so that what is said first is a whole phrase
_FIRST_PAUSE = re.compile(r"[，,：:。.！!？?、]")


def first_words(utterance: Utterance) -> tuple[Utterance, Utterance | None]:
    """The prompt's first words and the rest (None when it does not divide): a recorded prompt
    at its first segment, a spoken one after the first pause its text marks. A caller hears
    the first words while their agent's leg is placed (ivr/call/voice/conference.py)."""
    if isinstance(utterance, Composed):
        parts = utterance.parts
        return parts[0], Composed(parts[1:]) if len(parts) > 1 else None
    if isinstance(utterance, Say):
        text = utterance.text
        mark = _FIRST_PAUSE.search(text)
        if mark is not None and text[mark.end() :].strip():
            first, after = text[: mark.end()], text[mark.end() :].strip()
            return replace(utterance, text=first), replace(utterance, text=after)
    return utterance, None


Segments = tuple[str, ...]  # files and "{parameter}" places, in order
PLACE = re.compile(r"^\{(\w+)\}$")
VALUE_DIR = "values"
_VALUE_FILE = re.compile(r"^[^./\\][^/\\]*\.mp3$")  # a value's recording: no path, no dot-file


@dataclass(frozen=True)
class Pack:
    code: str
    gather_language: str
    say_voice: str = ""
    say_language: str = ""
    fallback: str | None = None
    prompts: dict[str, str] = field(default_factory=dict)
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    audio: dict[str, str | Segments] = field(default_factory=dict)
    # How records and profiles may name this dialect ([spellings]): ISO 639-3, Chinese, English
    spellings: tuple[str, ...] = ()


class Packs:
    """Every pack in a directory, with prompt-by-prompt fallback resolved."""

    def __init__(self, pack_dir: Path = PACK_DIR, audio_dir: Path = AUDIO_DIR) -> None:
        self.audio_dir = audio_dir
        self._packs = {p.code: p for p in (_load(f) for f in sorted(pack_dir.glob("*.toml")))}
        for pack in self._packs.values():
            if pack.fallback and pack.fallback not in self._packs:
                raise ValueError(f"dialect pack {pack.code}: fallback {pack.fallback!r} is missing")
        self._spelt = _spelling_index(self._packs.values())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._packs)

    def get(self, code: str) -> Pack:
        """Return the pack for `code`, or the default pack for an unknown code."""
        return self._packs.get(code) or self._packs[DEFAULT]

    def served(self, code: str, name: str) -> bool:
        """Whether /dialects/audio/<code>/<name> is a recording pack `code` names: a prompt's
        file, a segment, or a parameter's value (values/<parameter>/<value>.mp3)."""
        pack = self._packs.get(code)
        if pack is None:
            return False
        if name in _files(pack):
            return True
        folder, param, file = (name.split("/") + ["", "", ""])[:3]
        return (
            folder == VALUE_DIR
            and param in _places(pack)
            and name.count("/") == 2
            and _VALUE_FILE.match(file) is not None
        )

    def speech_pack(self, code: str) -> Pack:
        """The pack whose TTS voice speaks for `code` (itself, or its fallback)."""
        pack = self.get(code)
        return self.get(pack.fallback) if pack.fallback and not pack.say_voice else pack

    def utterance(self, code: str, key: str, /, **params: object) -> Utterance:
        """Resolve prompt `key` for a caller of dialect `code`: a recording, or TTS text."""
        pack = self.get(code)
        recording = pack.audio.get(key)
        if isinstance(recording, tuple):
            composed = self._compose(pack, recording, params)
            if composed is not None:
                return composed
        elif recording and not params and (self.audio_dir / pack.code / recording).is_file():
            return Play(f"{pack.code}/{recording}")
        voice = self.speech_pack(code)
        return Say(self.text(voice.code, key, **params), voice.say_voice, voice.say_language)

    def _compose(
        self, pack: Pack, segments: Segments, params: dict[str, object]
    ) -> Composed | None:
        """The recorded segments with the parameters between them; None when a segment's file
        or a parameter's value is missing (then the whole prompt is spoken: never half)."""
        voice = self.speech_pack(pack.code)
        parts: list[Say | Play] = []
        for segment in segments:
            place = PLACE.match(segment)
            if place is None:
                if not (self.audio_dir / pack.code / segment).is_file():
                    return None
                parts.append(Play(f"{pack.code}/{segment}"))
                continue
            value = params.get(place[1])
            if value in (None, ""):
                return None
            recorded = f"{VALUE_DIR}/{place[1]}/{value}.mp3"
            if (self.audio_dir / pack.code / recorded).is_file():
                parts.append(Play(f"{pack.code}/{recorded}"))
            else:
                parts.append(Say(str(value), voice.say_voice, voice.say_language))
        return Composed(tuple(parts))

    def text(self, code: str, key: str, /, **params: object) -> str:
        """The text of prompt `key` in the TTS pack for `code`, with `params` filled in."""
        template = self.speech_pack(code).prompts.get(key)
        if template is None:
            raise KeyError(f"prompt {key!r} is missing from dialect pack {code!r}")
        return _fill(template, params)

    def words(self, code: str, meaning: str) -> tuple[str, ...]:
        """Speech words for `meaning` (e.g. "agent") in `code`, plus its fallback's words."""
        pack = self.get(code)
        own = pack.words.get(meaning, ())
        if pack.fallback:
            return own + tuple(
                w for w in self.get(pack.fallback).words.get(meaning, ()) if w not in own
            )
        return own

    def dialect_named(self, spelling: str) -> str | None:
        """The pack code a record or profile means by `spelling` ("yue", "廣東話", "Cantonese")."""
        return self._spelt.get(_spelling_key(spelling))

    def accepted_spellings(self) -> str:
        """Every accepted spelling, pack by pack: what a refusal lists."""
        return "; ".join(
            f"{p.code}: {', '.join(s for s in p.spellings if s != p.code) or '-'}"
            for p in self._packs.values()
        )

    def gather_language(self, code: str) -> str:
        return self.get(code).gather_language


def _fill(template: str, params: dict[str, object]) -> str:
    """`template` with `params` filled in; a [bracketed] part is kept only when every field it
    names is known (not None, not empty), so an unknown age or name leaves no "，岁，" behind."""

    def optional(part: re.Match[str]) -> str:
        fields = [f for _, f, _, _ in string.Formatter().parse(part[1]) if f]
        known = all(params.get(f) not in (None, "") for f in fields)
        return part[1] if known else ""

    return _OPTIONAL.sub(optional, template).format(**params)


def _spelling_key(spelling: str) -> str:
    return re.sub(r"[\s\-_]+", "", spelling).casefold()


def _spelling_index(packs: Iterable[Pack]) -> dict[str, str]:
    """Spelling (normalised) -> pack code; a spelling two packs claim is a mistake in dialects/."""
    index: dict[str, str] = {}
    for pack in packs:
        for spelling in (pack.code, *pack.spellings):
            key = _spelling_key(spelling)
            if index.setdefault(key, pack.code) != pack.code:
                raise ValueError(
                    f"dialect packs {index[key]} and {pack.code} both claim spelling {spelling!r}"
                )
    return index


def _load(path: Path) -> Pack:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return Pack(
        code=raw["code"],
        gather_language=raw["gather_language"],
        say_voice=raw.get("say_voice", ""),
        say_language=raw.get("say_language", ""),
        fallback=raw.get("fallback"),
        prompts=dict(raw.get("prompts", {})),
        words={k: tuple(v) for k, v in raw.get("words", {}).items()},
        audio={k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("audio", {}).items()},
        spellings=tuple(s for group in raw.get("spellings", {}).values() for s in group),
    )


def _files(pack: Pack) -> set[str]:
    """Every recording file `pack` names (prompts and segments, not parameter places)."""
    found: set[str] = set()
    for entry in pack.audio.values():
        found.update(
            [entry] if isinstance(entry, str) else (s for s in entry if not PLACE.match(s))
        )
    return found


def _places(pack: Pack) -> set[str]:
    """The parameters `pack`'s segmented prompts play values of."""
    return {
        m[1]
        for e in pack.audio.values()
        if isinstance(e, tuple)
        for s in e
        if (m := PLACE.match(s))
    }


@cache
def default_packs() -> Packs:
    """The packs shipped in dialects/, loaded once per process."""
    return Packs()
