import pytest

from dialects.packs import default_packs
from routing.queues.menu import Choice, choose
from routing.settings import load_engine_settings

IVR = load_engine_settings(environ={}).ivr


def pick(
    digits: str = "", speech: str = "", dialect: str = "mandarin", unknown: bool = False
) -> Choice:
    return choose(
        digits, speech, IVR, lambda m: default_packs().words(dialect, m), offer_senior=unknown
    )


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("0", Choice("agent", "general")),
        ("1", Choice("topic", "policy")),
        ("2", Choice("topic", "claims")),
        ("3", Choice("topic", "payments")),
        ("8", Choice("complaint", "complaints")),
        ("7", Choice("invalid")),
        ("abc", Choice("invalid")),
        ("", Choice("none")),
    ],
)
def test_keys(digits: str, expected: Choice) -> None:
    assert pick(digits) == expected


def test_the_senior_key_is_only_for_unknown_callers() -> None:
    assert pick("9", unknown=True) == Choice("senior", "senior")
    assert pick("9", unknown=False) == Choice("invalid")


@pytest.mark.parametrize(
    ("speech", "dialect", "kind", "queue"),
    [
        ("人工", "mandarin", "agent", "general"),
        ("我要转人工。", "mandarin", "agent", "general"),
        ("客服", "mandarin", "agent", "general"),
        ("我想办理赔", "mandarin", "topic", "claims"),
        ("我要投诉", "mandarin", "complaint", "complaints"),
        ("我想搵真人", "cantonese", "agent", "general"),
        ("接線生", "cantonese", "agent", "general"),
        ("繳費", "cantonese", "topic", "payments"),
        ("Agent please", "english", "agent", "general"),
        ("I need an operator", "english", "agent", "general"),
        ("representative", "english", "agent", "general"),
        ("a claim", "english", "topic", "claims"),
        ("找人工", "sichuanese", "agent", "general"),
        ("保单", "shanghainese", "topic", "policy"),
    ],
)
def test_speech(speech: str, dialect: str, kind: str, queue: str) -> None:
    assert pick(speech=speech, dialect=dialect) == Choice(kind, queue)  # type: ignore[arg-type]


def test_a_person_wins_over_a_topic_in_one_sentence() -> None:
    assert pick(speech="理赔的事我要人工") == Choice("agent", "general")


def test_latin_words_match_whole_words_only() -> None:
    assert pick(speech="paymentsagentx", dialect="english") == Choice("invalid")


def test_noise_is_invalid_and_silence_is_none() -> None:
    assert pick(speech="嗯嗯嗯") == Choice("invalid")
    assert pick(speech="  。 ") == Choice("none")


def test_a_key_wins_over_speech() -> None:
    assert pick("1", "人工") == Choice("topic", "policy")
