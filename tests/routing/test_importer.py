"""CSV import: every bad row reported by line and reason; all-or-nothing unless told."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dialects.packs import default_packs
from routing.callers import importer
from routing.callers.directory import Directory
from routing.callers.importer import import_csv
from routing.clock import FixedClock
from routing.exceptions import ImportRowError
from routing.keys import Keys
from routing.settings import load_engine_settings
from routing.store import RedisClient

HEADER = "name,phones,birth_date,id_number,dialect\n"
GOOD = (
    "陈婉仪,13902212345,1950-05-01,,\n"  # 2
    "王建国,13800138000;010-12345678,1949-12-31,11010519491231002X,mandarin\n"  # 3
    "刘䶮,+85291234567,,110105491231002,cantonese\n"  # 4: 15-digit ID, CJK Ext-A name
)
BAD = (
    "赵六,13800138001,,110105194912310021,\n"  # 5: bad check character
    "孙七,13800138002,2026-11-24,,\n"  # 6: tomorrow in Shanghai
    "周八,13800138003,1960-01-01,,\n"  # 7: shares a number with 8
    "吴九,138 0013 8003,1961-01-01,,\n"  # 8
    "郑十,13800138004,1960-01-01,,klingon\n"  # 9
    "冯十一,13800138005,1950-01-01,11010519491231002X,\n"  # 10: disagrees with the ID
    "陈十二,12345,1950-01-01,,\n"  # 11
    "褚十三,13800138006,,,\n"  # 12
    "卫十四,13800138007,1950-13-01,,\n"  # 13
)
LAST = "蒋十五,13800138008;13800138009,1966-11-23,,\n"  # 14: 60 today
EXPECTED = {
    5: "id_number 110105194912310021: check character is 1, expected X",
    6: "birth date 2026-11-24 is in the future",
    7: "phone +8613800138003 is also on line 8",
    8: "phone +8613800138003 is also on line 7",
    9: f"unknown dialect 'klingon'; accepted: {default_packs().accepted_spellings()}",
    10: "birth_date 1950-01-01 disagrees with id_number's 1949-12-31",
    11: "phone '12345' is not a valid number",
    12: "give birth_date or id_number",
    13: "birth_date '1950-13-01' is not a date as YYYY-MM-DD",
}


@pytest.fixture
def directory(r: RedisClient, clock: FixedClock) -> Directory:
    settings = load_engine_settings(environ={})
    return Directory(r, clock, settings, Keys(settings.redis.key_prefix))


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def reasons(report: importer.ImportReport) -> dict[int, str]:
    return {p.line: p.reason for p in report.problems}


def test_bad_rows_are_all_reported_and_nothing_is_written(
    tmp_path: Path, directory: Directory, r: RedisClient
) -> None:
    report = import_csv(directory, write(tmp_path, HEADER + GOOD + BAD + LAST))
    assert reasons(report) == EXPECTED
    assert report.rows == 13
    assert not report.written
    assert r.dbsize() == 0


def test_skip_invalid_imports_the_good_rows_only(tmp_path: Path, directory: Directory) -> None:
    report = import_csv(directory, write(tmp_path, HEADER + GOOD + BAD + LAST), skip_invalid=True)
    assert report.written and (report.added, report.updated) == (4, 0)
    assert reasons(report) == EXPECTED
    when = datetime(2026, 11, 23, 2, tzinfo=UTC)
    wang = directory.identify("010-12345678", when)
    assert wang.name == "王建国" and wang.age == 76 and wang.dialect == "mandarin"
    liu = directory.identify("+85291234567", when)
    assert liu.name == "刘䶮" and liu.customer and liu.customer.birth_date == date(1949, 12, 31)
    jiang = directory.identify("13800138009", when)
    assert jiang.age == 60 and jiang.senior
    for bad in ("13800138001", "13800138003", "13800138004", "13800138005", "13800138006"):
        assert directory.lookup(f"+86{bad}") is None


def test_gb18030_file_with_encoding_option(tmp_path: Path, directory: Directory) -> None:
    path = write(tmp_path, HEADER + GOOD, encoding="gb18030")
    report = import_csv(directory, path, encoding="gb18030")
    assert report.problems == [] and report.added == 3
    found = directory.lookup("+85291234567")
    assert found is not None and found.name == "刘䶮"


def test_gb18030_file_read_as_utf8_is_refused_with_a_hint(
    tmp_path: Path, directory: Directory, r: RedisClient
) -> None:
    path = write(tmp_path, HEADER + GOOD, encoding="gb18030")
    with pytest.raises(ImportRowError, match="gb18030") as err:
        import_csv(directory, path)
    assert err.value.line == 2
    assert r.dbsize() == 0


def test_utf8_with_bom(tmp_path: Path, directory: Directory) -> None:
    path = write(tmp_path, "\ufeff" + HEADER + GOOD + BAD[:0] + "孙七,13800138002,2030-01-01,,\n")
    report = import_csv(directory, path)
    assert reasons(report) == {5: "birth date 2030-01-01 is in the future"}


def test_wrong_header_is_refused(tmp_path: Path, directory: Directory) -> None:
    with pytest.raises(ImportRowError, match="header must be") as err:
        import_csv(directory, write(tmp_path, "name,phone,birth\n" + GOOD))
    assert err.value.line == 1


@pytest.mark.parametrize("batch", [importer.BATCH, 1])  # 1: big-file path (occupied buckets)
def test_reimport_updates_records_in_place(
    tmp_path: Path, directory: Directory, batch: int
) -> None:
    import_csv(directory, write(tmp_path, HEADER + GOOD), batch=batch)
    changed = "王建国,13800138000;13800138077,1949-12-31,,cantonese\n"
    report = import_csv(directory, write(tmp_path, HEADER + changed, name="d.csv"), batch=batch)
    assert (report.added, report.updated) == (0, 1)
    assert directory.lookup("+861012345678") is None
    found = directory.lookup("+8613800138077")
    assert found is not None and found.dialect == "cantonese"
    assert found.phones == ("+8613800138000", "+8613800138077")
    assert directory.lookup("+8613902212345") is not None  # not in the second file: kept


def test_bitmap_collisions_are_settled_exactly(
    tmp_path: Path, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "_BITMAP_BITS", 4)  # 16 bits: almost every number collides
    rows = "".join(f"客户{i},1380013{i:04d},1960-01-01,,\n" for i in range(200))
    report = import_csv(
        directory, write(tmp_path, HEADER + rows + "重复,13800130007,1960-01-01,,\n")
    )
    assert reasons(report) == {
        9: "phone +8613800130007 is also on line 202",
        202: "phone +8613800130007 is also on line 9",
    }


def test_batches_write_every_row(tmp_path: Path, directory: Directory) -> None:
    rows = "".join(f"客户{i},1390013{i:04d},1960-01-01,,\n" for i in range(250))
    report = import_csv(directory, write(tmp_path, HEADER + rows), batch=100)
    assert report.added == 250
    assert all(directory.lookup(f"+861390013{i:04d}") for i in range(250))


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_pass_one_reports_the_same(
    tmp_path: Path, directory: Directory, workers: int
) -> None:
    filler = "".join(f"客户{i},1390013{i:04d},1960-01-01,,\n" for i in range(300))
    text = HEADER + GOOD + BAD + filler + LAST + "重复,13902212345,1960-01-01,,\n"
    report = import_csv(directory, write(tmp_path, text), workers=workers)
    expected = dict(EXPECTED)
    expected[2] = "phone +8613902212345 is also on line 315"
    expected[315] = "phone +8613902212345 is also on line 2"
    assert reasons(report) == expected
    assert report.rows == 314


def test_parallel_pass_one_pins_a_bad_byte_to_its_line(
    tmp_path: Path, directory: Directory
) -> None:
    rows = "".join(f"客户{i},1390013{i:04d},1960-01-01,,\n" for i in range(300))
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + rows).encode() + "坏,13800138000,1960-01-01,,\n".encode("gb18030"))
    with pytest.raises(ImportRowError, match="not utf-8 text") as err:
        import_csv(directory, path, workers=2)
    assert err.value.line == 302


def test_parallel_import_writes_every_row(tmp_path: Path, directory: Directory) -> None:
    rows = "".join(f"客户{i},1370013{i:04d},1960-01-01,,\n" for i in range(500))
    report = import_csv(directory, write(tmp_path, HEADER + rows), workers=2, batch=64)
    assert (report.rows, report.added, report.problems) == (500, 500, [])
    assert all(directory.lookup(f"+861370013{i:04d}") for i in range(500))


def test_header_only_file_imports_nothing(tmp_path: Path, directory: Directory) -> None:
    report = import_csv(directory, write(tmp_path, HEADER))
    assert (report.rows, report.added, report.problems, report.written) == (0, 0, [], True)


def test_a_bad_byte_after_the_first_mebibyte_is_pinned_to_its_line(
    tmp_path: Path, directory: Directory, r: RedisClient
) -> None:
    # Lines are decoded a MiB at a time; a chunk that fails is decoded again line by line.
    rows = "".join(f"客户{i},1390{i:07d},1960-01-01,,\n" for i in range(40_000))
    assert len(rows.encode()) > 1 << 20
    path = tmp_path / "big.csv"
    path.write_bytes((HEADER + rows).encode() + "坏,13800138000,1960-01-01,,\n".encode("gb18030"))
    with pytest.raises(ImportRowError, match="not utf-8 text") as err:
        import_csv(directory, path, workers=1)
    assert err.value.line == 40_002
    assert r.dbsize() == 0
