"""Dialects as customer records spell them (issue 21, point 9): ISO 639-3 codes, Chinese names
in simplified and traditional characters, English names, for every pack."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialects.packs import Packs, default_packs
from dialects.registry import DIALECTS, UnknownDialect, resolve
from routing.callers.directory import Directory
from routing.callers.importer import import_csv
from routing.clock import FixedClock
from routing.keys import Keys
from routing.settings import load_engine_settings
from routing.store import RedisClient

PACKS = default_packs()
# What an insurer's CRM export writes, and the pack it means.
AS_RECORDS_SPELL = {
    "cmn": "mandarin",
    "普通话": "mandarin",
    "國語": "mandarin",
    "Mandarin": "mandarin",
    "yue": "cantonese",
    "粤语": "cantonese",
    "粵語": "cantonese",
    "廣東話": "cantonese",
    "广东话": "cantonese",
    "CANTONESE": "cantonese",
    "wuu": "shanghainese",
    "上海话": "shanghainese",
    "上海話": "shanghainese",
    "Shanghainese": "shanghainese",
    "nan": "minnan",
    "闽南语": "minnan",
    "閩南語": "minnan",
    "Min Nan": "minnan",
    "hokkien": "minnan",
    "四川话": "sichuanese",
    "四川話": "sichuanese",
    "Sichuanese": "sichuanese",
    "eng": "english",
    "英语": "english",
    "English": "english",
}


@pytest.mark.parametrize(("spelling", "code"), AS_RECORDS_SPELL.items())
def test_records_spellings_name_their_pack(spelling: str, code: str) -> None:
    assert resolve(spelling) == code
    assert resolve(f" {spelling.lower()} ") == code


@pytest.mark.parametrize("code", DIALECTS)
def test_every_pack_has_its_spellings_in_one_table(code: str) -> None:
    pack = PACKS.get(code)
    assert pack.code == code and len(pack.spellings) >= 3
    assert DIALECTS[code].name_zh in pack.spellings or code == "english"
    assert DIALECTS[code].name_en in pack.spellings
    for spelling in (code, *pack.spellings):
        assert resolve(spelling) == code, spelling


def test_a_refusal_lists_the_accepted_spellings() -> None:
    with pytest.raises(UnknownDialect) as refused:
        resolve("klingon")
    message = str(refused.value)
    assert message.startswith("unknown dialect 'klingon'; accepted: ")
    for code in DIALECTS:
        assert f"{code}: " in message
        assert all(s in message for s in PACKS.get(code).spellings)


def test_two_packs_claiming_one_spelling_is_refused_at_load(tmp_path: Path) -> None:
    for code in ("a", "b"):
        (tmp_path / f"{code}.toml").write_text(
            f'code = "{code}"\ngather_language = "en-US"\n[spellings]\nenglish = ["Same"]\n'
        )
    with pytest.raises(ValueError, match="both claim spelling 'Same'"):
        Packs(tmp_path, tmp_path)


def test_the_directory_import_stores_every_spelling_as_its_code(
    tmp_path: Path, r: RedisClient, clock: FixedClock
) -> None:
    settings = load_engine_settings(environ={})
    directory = Directory(r, clock, settings, Keys(settings.redis.key_prefix))
    spellings = [(s, code) for code in DIALECTS for s in PACKS.get(code).spellings]
    rows = [f"客户{n},139{n:08d},1950-01-01,,{s}" for n, (s, _) in enumerate(spellings, start=1)]
    path = tmp_path / "crm.csv"
    path.write_text("name,phones,birth_date,id_number,dialect\n" + "\n".join(rows) + "\n")
    report = import_csv(directory, path)
    assert not report.problems
    for n, (spelling, code) in enumerate(spellings, start=1):
        found = directory.lookup(f"+86139{n:08d}")
        assert found is not None and found.dialect == code, spelling
