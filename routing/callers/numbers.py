"""Caller numbers: E.164 normalisation, withheld caller IDs, and the region a number is from.

Withheld and unusable caller IDs are not errors: `normalise` answers None and the call goes on
as an unknown caller. The geocoder's data (tens of megabytes of Python modules) is imported on
first use; the server calls `warm_up()` before gunicorn forks so every worker shares it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneNumberFormat
from phonenumbers.phonemetadata import PhoneMetadata

WITHHELD_WORDS = frozenset(
    {"anonymous", "restricted", "unknown", "private", "unavailable", "blocked"}
)
# What Twilio puts in `From` when the caller ID is withheld: the words above spelled on a
# phone keypad (docs/caller-identification.md; +2562533 spells BLOCKED).
TWILIO_WITHHELD = frozenset({"+266696687", "+7378742833", "+8656696", "+2562533", "+86282452253"})
_IDENTITIES = ("client:", "sip:", "sips:")
_SEPARATORS = re.compile(r"[\s\-().]")
_DROP_SEPARATORS = str.maketrans("", "", " -().")
_Rule = tuple[str, str, re.Pattern[str], re.Pattern[str]]
_RULES: dict[str, _Rule] = {}  # by region as given, so the hot path skips upper() and cache


def is_withheld(raw: str) -> bool:
    """Tell whether `From` has no usable number: empty, withheld word or sentinel, identity."""
    text = raw.strip()
    lower = text.lower()
    if not text or lower in WITHHELD_WORDS or lower.startswith(_IDENTITIES):
        return True
    # Only with the "+": without it, +7378742833's digits are a real national US number.
    return _SEPARATORS.sub("", text) in TWILIO_WITHHELD


def normalise(raw: str, region: str = "CN") -> str | None:
    """Return `raw` as E.164, or None for a withheld, identity or invalid number.

    National forms are read in `region` (an ISO 3166 code such as "CN").
    """
    text = raw.strip()
    fast = _fast_path(text, region)
    if fast is not None:
        return None if fast in TWILIO_WITHHELD else fast
    if is_withheld(text):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164: str = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    return None if e164 in TWILIO_WITHHELD else e164


def region_description(e164: str) -> str:
    """Where the number is from, in Chinese: "广东省广州市", "香港", "美国"; "" when unknown."""
    from phonenumbers import geocoder  # the big data import; warm_up() does it before forking

    parsed = _from_e164(e164)
    if parsed is None:
        try:
            parsed = phonenumbers.parse(e164, None)
        except NumberParseException:
            return ""
    description: str = geocoder.description_for_number(parsed, "zh")
    return description


def national(e164: str) -> str:
    """The national significant number of `e164` (the digits a person dials at home), or ""."""
    parsed = _from_e164(e164)
    return str(phonenumbers.national_significant_number(parsed)) if parsed else ""


def _from_e164(e164: str) -> phonenumbers.PhoneNumber | None:
    """The PhoneNumber of a plain E.164 string, without the parser (~20 us), or None.

    Country calling codes are a prefix code of one to three digits, so the first prefix the
    metadata knows is the country code. A national number with a leading zero (Italy's) is
    left to the parser, which records that zero.
    """
    digits = e164[1:]
    if not (e164.startswith("+") and digits.isdigit() and digits.isascii()):
        return None
    for size in (1, 2, 3):
        code, national = int(digits[:size]), digits[size:]
        if code in COUNTRY_CODE_TO_REGION_CODE:
            if not national or national.startswith("0"):
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


def warm_up(regions: tuple[str, ...] = ("CN", "HK", "MO", "TW", "US", "GB")) -> None:
    """Load the geocoder and the common regions' metadata now, once, in this process."""
    for region in regions:
        example = phonenumbers.example_number(region)
        if example is not None:
            region_description(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    _fast_rule("CN")


def _fast_path(text: str, region: str) -> str | None:
    """E.164 for a plain mobile or landline of `region`, read without phonenumbers' parser.

    The importer normalises millions of numbers and parse() costs ~50 us each. Digits (with
    "+<country code>" or the national prefix, spaces and hyphens) that match the region's
    mobile or fixed-line pattern are valid by the same metadata the parser uses, so both give
    the same E.164 (tests/routing/test_numbers.py checks this property). Anything else: None,
    and the caller asks the parser.
    """
    rule = _RULES.get(region) or _fast_rule(region.upper())
    compact = text if text.isdigit() else text.translate(_DROP_SEPARATORS)
    if rule is None or not compact.isascii():
        return None
    country, trunk, mobile, fixed = rule
    if compact.startswith(country):
        nsn = compact[len(country) :]
        valid = mobile.fullmatch(nsn) or fixed.fullmatch(nsn)
    elif trunk and compact.startswith(trunk):
        nsn = compact[len(trunk) :]
        valid = fixed.fullmatch(nsn)
    else:
        nsn = compact
        valid = mobile.fullmatch(nsn)
    return country + nsn if valid and nsn.isdigit() else None


@cache
def _fast_rule(region: str) -> _Rule | None:
    """(+country code, national prefix, mobile pattern, fixed-line pattern) of `region`."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.mobile is None or meta.fixed_line is None:
        return None
    trunk = meta.national_prefix or ""
    # Only a region whose prefix-for-parsing reads a plain national prefix the plain way.
    parsing = meta.national_prefix_for_parsing
    if trunk and (meta.national_prefix_transform_rule or not _reads_trunk(parsing, trunk)):
        trunk = ""
    rule = f"+{meta.country_code}", trunk, _desc(meta.mobile), _desc(meta.fixed_line)
    _RULES[region] = rule
    return rule


def _reads_trunk(parsing: str | None, trunk: str) -> bool:
    if parsing is None:
        return True
    found = re.match(parsing, trunk + "1")
    return found is not None and found.group(0) == trunk and not any(found.groups())


def _desc(desc: Any) -> re.Pattern[str]:
    """A number description's pattern, held to its possible lengths."""
    lengths = desc.possible_length or (0,)
    pattern = desc.national_number_pattern or "(?!)"
    return re.compile(f"(?=\\d{{{min(lengths)},{max(lengths)}}}$)(?:{pattern})")
