"""CSV files that a spreadsheet opens as data, never as formulas (docs/security.md).

A cell starting with `=`, `+`, `-`, `@` (or a tab or carriage return, which some
spreadsheets skip before looking) is run as a formula when the file is opened: a group name
or donor message typed as `=HYPERLINK(...)` would run on a staff member's laptop. Every
export writes through `writer()`, which prefixes such text with an apostrophe (shown as
text, the OWASP advice). Numbers are written as they are, so `-12.50` stays a number.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """`value` made safe to put in a CSV cell."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer whose every cell goes through `neutralise`."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: TextIO, **kwargs: Any) -> SafeWriter:
    return SafeWriter(out, **kwargs)
