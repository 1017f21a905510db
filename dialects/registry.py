"""The dialects Silverline knows: each pack's code with its Chinese and English name.

Codes are what customer records, the dialect-region table in config and agents' skills name;
the prompt texts of each dialect live in dialects/packs/.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialects.packs import default_packs


@dataclass(frozen=True)
class Dialect:
    code: str
    name_zh: str
    name_en: str


DIALECTS: dict[str, Dialect] = {
    d.code: d
    for d in (
        Dialect("mandarin", "普通话", "Mandarin"),
        Dialect("cantonese", "粤语", "Cantonese"),
        Dialect("english", "English", "English"),
        Dialect("shanghainese", "上海话", "Shanghainese"),
        Dialect("minnan", "闽南语", "Minnan"),
        Dialect("sichuanese", "四川话", "Sichuanese"),
    )
}


class UnknownDialect(ValueError):
    """A dialect spelling no pack accepts; the message lists the accepted spellings."""


def resolve(spelling: str) -> str:
    """The dialect code `spelling` names, as a CRM export or an operator spells it: a pack code,
    an ISO 639-3 code (yue), a Chinese (粤语, 廣東話) or an English name (Cantonese); each pack's
    [spellings] table says which. Raises UnknownDialect, listing the accepted spellings."""
    packs = default_packs()
    code = packs.dialect_named(spelling)
    if code is None or code not in DIALECTS:
        raise UnknownDialect(
            f"unknown dialect {spelling!r}; accepted: {packs.accepted_spellings()}"
        )
    return code
