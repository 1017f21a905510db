"""Chinese resident ID numbers (GB 11643): the check character and the date of birth.

The 18-character form ends in an ISO 7064 MOD 11-2 check character (0-9 or X); characters 7-14
are the birth date as YYYYMMDD. The legacy 15-digit form (issued before 1999) has no check
character and a two-digit year that always means 19YY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_ZERO = 48 * sum(_WEIGHTS)
_CHECK = "10X98765432"
_FORM_18 = re.compile(r"^[0-9]{17}[0-9X]$")


@dataclass(frozen=True)
class ResidentId:
    """A valid resident ID, always in the 18-character form."""

    number: str
    birth_date: date


def check_character(first17: str) -> str:
    """Return the MOD 11-2 check character for the first 17 digits of an 18-character ID."""
    # Weighted sum of the digits' byte values, less the weighted sum of "0" (48): one C loop.
    return _CHECK[(sum(map(mul, _WEIGHTS, first17.encode())) - _ZERO) % 11]


def parse_resident_id(text: str) -> ResidentId:
    """Validate an 18- or 15-character ID; ValueError says why it is not one."""
    raw = text.strip().upper()
    if len(raw) == 18 and _FORM_18.match(raw):
        expected = check_character(raw[:17])
        if raw[17] != expected:
            raise ValueError(f"check character is {raw[17]}, expected {expected}")
        return ResidentId(raw, _birth(raw[6:14]))
    if len(raw) == 15 and raw.isdigit() and raw.isascii():
        long = raw[:6] + "19" + raw[6:]
        return ResidentId(long + check_character(long), _birth(long[6:14]))
    raise ValueError("a resident ID has 18 characters (17 digits and 0-9 or X) or 15 digits")


def _birth(yyyymmdd: str) -> date:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise ValueError(f"birth date {yyyymmdd} in the ID is not a calendar date") from None
