from pathlib import Path

import pytest

from dialects.packs import Composed, Packs, Play, Say, default_packs, first_words

TTS = ("mandarin", "cantonese", "english")
RECORDED = ("shanghainese", "minnan", "sichuanese")


def test_every_pack_is_there() -> None:
    assert set(default_packs().codes) == set(TTS + RECORDED)


def test_every_prompt_key_exists_in_every_tts_pack() -> None:
    packs = default_packs()
    keys = {k for code in TTS for k in packs.get(code).prompts}
    for code in TTS:
        missing = keys - set(packs.get(code).prompts)
        assert not missing, f"{code} lacks {sorted(missing)}"


def test_every_prompt_resolves_for_every_dialect() -> None:
    packs = default_packs()
    params = {
        "hotline": "H",
        "topic": "T",
        "key": "1",
        "hours": "9-5",
        "ahead": 2,
        "minutes": 3,
        "open": "08:00",
        "close": "20:00",
        "name": "N",
        "age": 70,
        "dialect": "D",
        "queue": "Q",
        "number": "9 5 5",
    }
    for code in packs.codes:
        for key in packs.get("mandarin").prompts:
            utterance = packs.utterance(code, key, **params)
            assert isinstance(utterance, Say | Play)
            if isinstance(utterance, Say):
                assert utterance.text and "{" not in utterance.text


def test_recorded_packs_name_only_known_prompts_and_fall_back_to_mandarin() -> None:
    packs = default_packs()
    for code in RECORDED:
        pack = packs.get(code)
        assert pack.fallback == "mandarin" and not pack.say_voice
        assert set(pack.audio) <= set(packs.get("mandarin").prompts), code


@pytest.mark.parametrize(
    ("code", "voice", "say_lang", "gather_lang"),
    [
        ("mandarin", "Polly.Zhiyu-Neural", "cmn-CN", "cmn-Hans-CN"),
        ("cantonese", "Google.yue-HK-Standard-A", "yue-HK", "yue-Hant-HK"),
        ("english", "Polly.Joanna-Neural", "en-US", "en-US"),
        ("shanghainese", "Polly.Zhiyu-Neural", "cmn-CN", "cmn-Hans-CN"),
    ],
)
def test_twilio_codes(code: str, voice: str, say_lang: str, gather_lang: str) -> None:
    packs = default_packs()
    said = packs.utterance(code, "wait_next")
    assert isinstance(said, Say) and (said.voice, said.language) == (voice, say_lang)
    assert packs.gather_language(code) == gather_lang


def test_a_recording_is_played_when_present(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    (audio / "shanghainese").mkdir(parents=True)
    (audio / "shanghainese" / "connecting.mp3").write_bytes(b"ID3")
    packs = Packs(audio_dir=audio)
    assert packs.utterance("shanghainese", "connecting") == Play("shanghainese/connecting.mp3")
    fallback = packs.utterance("shanghainese", "wait_next")  # no recording: Mandarin TTS
    assert isinstance(fallback, Say) and fallback.language == "cmn-CN"


def test_unknown_dialect_gets_the_default_pack() -> None:
    said = default_packs().utterance("klingon", "connecting")
    assert isinstance(said, Say) and said.language == "cmn-CN"


@pytest.mark.parametrize("code", TTS + RECORDED)
def test_a_greetings_first_words_and_its_rest_are_the_whole_greeting_in_order(code: str) -> None:
    # what a caller hears at their room's door, then in the room (ivr/call/voice/conference.py)
    greeting = default_packs().utterance(code, "senior_greeting", hotline="Silverline 95xxx")
    head, rest = first_words(greeting)
    assert rest is not None  # every greeting divides: the door says a phrase, not it all
    if isinstance(greeting, Composed):
        assert isinstance(rest, Composed) and (head, *rest.parts) == greeting.parts
    else:
        assert isinstance(greeting, Say) and isinstance(head, Say) and isinstance(rest, Say)
        assert head.text + rest.text == greeting.text.replace(": ", ":")
        assert head.text[-1] in "，,:" and head.voice == rest.voice == greeting.voice


def test_a_prompt_that_does_not_divide_is_said_whole_first() -> None:
    whole = Say("请稍等", "v", "cmn-CN")
    assert first_words(whole) == (whole, None)
    assert first_words(Say("请稍等。", "v", "cmn-CN")) == (Say("请稍等。", "v", "cmn-CN"), None)
    assert first_words(Play("x/a.mp3")) == (Play("x/a.mp3"), None)


def test_a_recorded_prompt_divides_after_its_first_segment() -> None:
    number = Say("95xxx", "v", "cmn-CN")
    composed = Composed((Play("minnan/g1.mp3"), number, Play("minnan/g2.mp3")))
    assert first_words(composed) == (Play("minnan/g1.mp3"), Composed(composed.parts[1:]))
    assert first_words(Composed((number,))) == (number, None)
