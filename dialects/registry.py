"""The dialects Silverline knows: each pack's code with its Chinese and English name.

Codes are what customer records, the dialect-region table in config and agents' skills name;
the prompt texts of each dialect live in dialects/packs/.
"""

from __future__ import annotations

from dataclasses import dataclass


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
