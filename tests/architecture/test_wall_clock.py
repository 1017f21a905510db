"""`make unit` runs the tests that wait on the wall clock apart from the CPU-bound rest, which
run under `nice` (Makefile, `unit`): a test file that starts a real server, the demo's two
processes or a Sentinel, or drives the browser, says so with a mark (wall_clock or browser),
or it would run starved beside the simulations and its time bounds would fail."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
WAITS = re.compile(r"\bServed\(|\bdemo\(|\bLocalSentinels\(|\bbrowser_page\b")
MARKED = re.compile(r"pytest\.mark\.(wall_clock|browser)\b")


def test_every_file_that_waits_on_real_servers_or_the_browser_is_marked_so() -> None:
    waiting = [p for p in sorted(TESTS.rglob("test_*.py")) if WAITS.search(p.read_text())]
    assert len(waiting) > 10  # the pattern still finds them
    unmarked = [str(p.relative_to(TESTS)) for p in waiting if not MARKED.search(p.read_text())]
    assert not unmarked, f"mark these pytest.mark.wall_clock: {unmarked}"
