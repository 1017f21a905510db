"""Chinese resident ID numbers: check character, legacy form, birth date."""

from __future__ import annotations

from datetime import date

import pytest

from routing.callers.resident_id import check_character, parse_resident_id

# The worked example of GB 11643-1999.
SAMPLE = "11010519491231002X"


def test_valid_18_character_id_gives_birth_date() -> None:
    rid = parse_resident_id(SAMPLE)
    assert rid.number == SAMPLE
    assert rid.birth_date == date(1949, 12, 31)


def test_lower_case_x_is_accepted() -> None:
    assert parse_resident_id(SAMPLE.lower()).number == SAMPLE


def test_check_character_is_mod_11_2() -> None:
    assert check_character(SAMPLE[:17]) == "X"
    assert check_character("44030419900101001") == "1"


@pytest.mark.parametrize("wrong", "0123456789")
def test_every_wrong_check_character_is_refused(wrong: str) -> None:
    with pytest.raises(ValueError, match="check character"):
        parse_resident_id(SAMPLE[:17] + wrong)


def test_legacy_15_digit_form_means_19yy_and_upgrades_to_18() -> None:
    rid = parse_resident_id("110105491231002")
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.number == SAMPLE


@pytest.mark.parametrize(
    "bad",
    ["", "1101051949123100", "11010519491231002Y", "1101051949123100XX", "11010519490230002X"],
)
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_resident_id(bad)


def test_impossible_birth_date_is_named() -> None:
    first17 = "11010519490230002"
    with pytest.raises(ValueError, match="19490230"):
        parse_resident_id(first17 + check_character(first17))
