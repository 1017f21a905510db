"""Caller numbers: E.164, withheld caller IDs, regions."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from routing.callers import numbers
from tests.profiles import examples


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("028-85551234", "+862885551234"),
        ("+85291234567", "+85291234567"),
        ("+1 415 555 2671", "+14155552671"),
        (" 13800138000 ", "+8613800138000"),
    ],
)
def test_normalises_national_and_international_forms(raw: str, expected: str) -> None:
    assert numbers.normalise(raw, "CN") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "RESTRICTED",
        "unknown",
        "private",
        "unavailable",
        "Blocked",
        "+266696687",
        "+7378742833",
        "+8656696",
        "+2562533",
        "+86282452253",
        "client:agent_7",
        "sip:alice@example.com",
        "SIP:alice@example.com",
    ],
)
def test_withheld_caller_ids_are_unknown_callers(raw: str) -> None:
    assert numbers.is_withheld(raw)
    assert numbers.normalise(raw, "CN") is None


@pytest.mark.parametrize("raw", ["12345", "+8613800", "hello", "+999123456789", "0000000000"])
def test_invalid_numbers_are_unknown_callers(raw: str) -> None:
    assert not numbers.is_withheld(raw)
    assert numbers.normalise(raw, "CN") is None


def test_sentinel_digits_without_plus_are_a_national_number_elsewhere() -> None:
    # 737 is an Austin area code: only the "+7378742833" spelling means "restricted".
    assert numbers.normalise("7378742833", "US") == "+17378742833"


def test_default_region_reads_national_forms() -> None:
    assert numbers.normalise("91234567", "HK") == "+85291234567"
    assert numbers.normalise("91234567", "CN") is None


@pytest.mark.parametrize(
    ("e164", "starts"),
    [
        ("+8613902212345", "广东省广州市"),
        ("+862885551234", "四川省成都市"),
        ("+85291234567", "香港"),
        ("+862161234567", "上海市"),
    ],
)
def test_region_description_is_chinese(e164: str, starts: str) -> None:
    assert numbers.region_description(e164).startswith(starts)


def _full_parser(raw: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164


@settings(max_examples=examples(200))
@given(st.from_regex(r"\A(\+86|0)?[1-9]\d{5,11}\Z"))
def test_fast_path_agrees_with_the_full_parser_cn(raw: str) -> None:
    assert numbers.normalise(raw, "CN") == _full_parser(raw, "CN")


@settings(max_examples=examples(200))
@given(st.from_regex(r"\A1[3-9]\d{9}\Z|\A0(10|2\d|[3-9]\d\d)-?[2-8]\d{6,7}\Z"))
def test_fast_path_agrees_on_realistic_cn_numbers(raw: str) -> None:
    assert numbers.normalise(raw, "CN") == _full_parser(raw, "CN")


@pytest.mark.parametrize(("region", "code"), [("US", "1"), ("GB", "44"), ("HK", "852")])
@settings(max_examples=examples(80))
@given(data=st.data())
def test_fast_path_agrees_with_the_full_parser_elsewhere(
    region: str, code: str, data: st.DataObject
) -> None:
    raw = data.draw(st.from_regex(rf"\A(\+{code}|0|1)?[1-9]\d{{6,10}}\Z"))
    assert numbers.normalise(raw, region) == _full_parser(raw, region)


def test_plain_e164_reads_as_the_parser_reads_it_in_every_region() -> None:
    from phonenumbers import geocoder  # noqa: PLC0415

    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            parsed = phonenumbers.parse(e164, None)
            fast = numbers._from_e164(e164)
            assert fast is None or fast == parsed, e164
            expected = geocoder.description_for_number(parsed, "zh")
            assert numbers.region_description(e164) == expected, e164
            checked += fast is not None
    assert checked > 400  # the fast reading, not the parser, answered nearly all of them
