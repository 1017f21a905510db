"""CSV files a spreadsheet opens safely: a cell that would run as a formula is kept as text.

Excel, LibreOffice and Google Sheets run a cell beginning with `=`, `+`, `-` or `@` as a
formula, and a leading tab or carriage return hides such a start; a customer named
`=HYPERLINK("//ev.il","Hi")` in a campaign list became a live link in the supervisor's export.
Such a text cell is written with a leading `'`, which the spreadsheet shows as text (OWASP,
"CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection). Numbers are written
as they are: `-3` is a figure, not text someone typed. Every CSV the product writes goes
through `writer()`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """`value`, with a `'` before a text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class Writer:
    """csv.writer's writerow/writerows, every text cell made safe first."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._csv = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._csv.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **options: Any) -> Writer:
    """A CSV writer on `out` (csv.writer's options) that neutralises formula cells."""
    return Writer(out, **options)
