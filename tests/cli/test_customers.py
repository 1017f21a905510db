"""`silverline customers import|show` and `silverline demo seed` against the test Redis."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app import cli as main
from routing.store import RedisClient

HEADER = "name,phones,birth_date,id_number,dialect\n"
ROWS = (
    "陈婉仪,13902200060,1950-05-01,,\n"
    "王建国,13800138000;010-12345678,,11010519491231002X,\n"
    "李明,13800138035,1991-03-02,,english\n"
)
BAD = "孙七,13800138002,2199-01-01,,\n赵六,13800138001,,110105194912310021,\n"


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_then_show(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["customers", "import", csv_file(tmp_path, HEADER + ROWS)])
    assert result.exit_code == 0, result.output
    assert "3 new, 0 updated" in result.output
    shown = runner.invoke(main, ["customers", "show", "010-12345678"])
    assert shown.exit_code == 0, shown.output
    assert "王建国" in shown.output
    assert "born:     1949-12-31" in shown.output
    assert "+8613800138000, +861012345678" in shown.output
    assert "green channel" in shown.output


def test_show_names_where_the_dialect_came_from(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["customers", "import", csv_file(tmp_path, HEADER + ROWS)])
    canton = runner.invoke(main, ["customers", "show", "+8613902200060"])
    assert "cantonese (粤语, Cantonese) from the number's region" in canton.output
    english = runner.invoke(main, ["customers", "show", "13800138035"])
    assert "english (English, English) from the record's preference" in english.output


def test_bad_rows_are_listed_and_nothing_is_written(
    runner: CliRunner, tmp_path: Path, r: RedisClient
) -> None:
    path = csv_file(tmp_path, HEADER + ROWS + BAD)
    result = runner.invoke(main, ["customers", "import", path])
    assert result.exit_code == 1
    assert f"{path}:5: birth date 2199-01-01 is in the future" in result.output
    assert f"{path}:6: id_number 110105194912310021: check character is 1" in result.output
    assert "nothing imported" in result.output
    assert r.dbsize() == 0


def test_skip_invalid_imports_the_rest(runner: CliRunner, tmp_path: Path) -> None:
    path = csv_file(tmp_path, HEADER + ROWS + BAD)
    result = runner.invoke(main, ["customers", "import", path, "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "3 new" in result.output and "skipped 2 bad row(s)" in result.output
    assert f"{path}:5:" in result.output
    missing = runner.invoke(main, ["customers", "show", "13800138002"])
    assert missing.exit_code == 1 and "no customer has +8613800138002" in missing.output


def test_gb18030_needs_the_encoding_option(runner: CliRunner, tmp_path: Path) -> None:
    path = csv_file(tmp_path, HEADER + ROWS, encoding="gb18030")
    refused = runner.invoke(main, ["customers", "import", path])
    assert refused.exit_code == 1 and "--encoding gb18030" in refused.output
    result = runner.invoke(main, ["customers", "import", path, "--encoding", "gb18030"])
    assert result.exit_code == 0, result.output
    assert "陈婉仪" in runner.invoke(main, ["customers", "show", "13902200060"]).output


def test_show_refuses_withheld_numbers(runner: CliRunner) -> None:
    result = runner.invoke(main, ["customers", "show", "anonymous"])
    assert result.exit_code == 1 and "withheld or not a valid" in result.output


def test_demo_seed_creates_the_well_known_callers(runner: CliRunner, r: RedisClient) -> None:
    result = runner.invoke(main, ["demo", "seed", "--count", "50"])
    assert result.exit_code == 0, result.output
    assert "seeded 57 demo customers" in result.output
    assert "+8613902200060   陈婉仪  72  cantonese" in result.output
    shown = runner.invoke(main, ["customers", "show", "+862885551234"])
    assert "age:      75" in shown.output and "sichuanese" in shown.output
