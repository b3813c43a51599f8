"""Calendar arithmetic (month ends and leap years): support periods and monthly pledges.

A leaf module every app may use; it imports no app."""

from __future__ import annotations

import calendar
import datetime

from django.utils.formats import date_format


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` moved by whole months, clamped to the month's end (Jan 31 + 1 → Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: datetime.date, day: datetime.date) -> int:
    """Whole months from `start` to `day` (0 in the first month; negative before `start`)."""
    months = (day.year - start.year) * 12 + (day.month - start.month)
    if add_months(start, months) > day:
        months -= 1
    return months


def month_starts(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first day of every month from `first`'s month to `last`'s, inclusive."""
    months: list[datetime.date] = []
    day = first.replace(day=1)
    while day <= last:
        months.append(day)
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def shown(day: datetime.date | None) -> str:
    """A date in a sentence (an error, a reason), as every page shows dates: in the reader's
    language ("July 22, 2026", "22 juillet 2026", "2026년 7월 22일"), never "2026-07-22"."""
    if day is None:
        return "-"
    return date_format(day, "DATE_FORMAT")
