"""A caller's answer to a call-back offer, by key or by word, in every TTS dialect (issue 21)."""

from __future__ import annotations

import pytest

from dialects.packs import default_packs
from routing.queues.menu import reply_to_offer

PACKS = default_packs()


def answer(dialect: str, digits: str = "", speech: str = "") -> str:
    return reply_to_offer(
        digits, speech, lambda m: PACKS.words(dialect, m), yes_key="1", agent_key="0"
    )


@pytest.mark.parametrize(
    ("dialect", "said", "meant"),
    [
        ("mandarin", "人工", "agent"),
        ("mandarin", "转人工", "agent"),
        ("mandarin", "我要人工，不要回电", "agent"),
        ("mandarin", "回电", "yes"),
        ("mandarin", "好的", "yes"),
        ("mandarin", "不要回电", "no"),
        ("mandarin", "今天天气", "invalid"),
        ("cantonese", "搵真人", "agent"),
        ("cantonese", "转人工", "agent"),
        ("cantonese", "回電", "yes"),
        ("cantonese", "唔要回電", "no"),
        ("english", "Agent, please", "agent"),
        ("english", "a person", "agent"),
        ("english", "Yes please call me back", "yes"),
        ("english", "No, don't call back", "no"),
        ("english", "nope", "invalid"),
        ("shanghainese", "寻人工", "agent"),
        ("shanghainese", "回电", "yes"),
        ("sichuanese", "找人工", "agent"),
        ("minnan", "人工", "agent"),
    ],
)
def test_words_are_understood_like_keys(dialect: str, said: str, meant: str) -> None:
    assert answer(dialect, speech=said) == meant


def test_keys_win_over_words_and_silence_is_none() -> None:
    assert answer("mandarin", digits="1", speech="人工") == "yes"
    assert answer("mandarin", digits="0") == "agent"
    assert answer("mandarin", digits="5") == "invalid"
    assert answer("mandarin") == "none"
    assert answer("english", speech="  ") == "none"
