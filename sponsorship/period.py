"""The support period: one home for its rule (docs/domain.md "The support period").

A sponsor group supports a family for 12 months from the day it arrives in Canada, longer
by approved extensions, never more than 36 months in all. Month N begins on the same
calendar day N − 1 months after arrival (clamped to a short month's end: arrival on 31
January → month 2 begins on 28 or 29 February); month 13 is the first day without sponsor
income support. Everything that shows or uses these dates (pages, reports, reminders, the
dashboard, benchmarks) asks `Period`; where SQL needs them, `month_13_sql` is the same rule
(tests/sponsorship/test_period.py proves they agree).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models
from django.db.models import Func

from core.dates import add_months, months_between

BASE_SUPPORT_MONTHS = 12
MAX_SUPPORT_MONTHS = 36
# An extension adds at most what is left under the cap after the base months.
MAX_EXTENSION_MONTHS = MAX_SUPPORT_MONTHS - BASE_SUPPORT_MONTHS


def committed_months(extension_months: int, base_months: int = BASE_SUPPORT_MONTHS) -> int:
    """Base months plus approved extensions, never more than the cap."""
    return min(MAX_SUPPORT_MONTHS, base_months + max(0, extension_months))


@dataclass(frozen=True)
class Period:
    """The support period of a family that arrived on `arrival` (day 0).

    `extensions` are the approved extensions' months in the order they were approved: each
    one ends a period of its own (the review schedule has a review before each end).
    `base_months` comes from the sponsorship's kind (12 for a private sponsorship).
    """

    arrival: datetime.date
    extensions: tuple[int, ...] = ()
    base_months: int = BASE_SUPPORT_MONTHS

    @classmethod
    def of(
        cls,
        arrival: datetime.date,
        extension_months: int = 0,
        base_months: int = BASE_SUPPORT_MONTHS,
    ) -> Period:
        """A period from the total of approved extension months (when their order is moot)."""
        return cls(arrival, (extension_months,) if extension_months else (), base_months)

    @property
    def extension_months(self) -> int:
        return sum(self.extensions)

    @property
    def committed_months(self) -> int:
        return committed_months(self.extension_months, self.base_months)

    @property
    def starts_on(self) -> datetime.date:
        return self.arrival

    def month_starts_on(self, n: int) -> datetime.date:
        """The first day of support month `n` (1-based; n = 13 is "month 13")."""
        return add_months(self.arrival, n - 1)

    def month_ends_on(self, n: int) -> datetime.date:
        return self.month_starts_on(n + 1) - datetime.timedelta(days=1)

    @property
    def month_13_on(self) -> datetime.date:
        """The first day without sponsor income support (after any extensions)."""
        return self.month_starts_on(self.committed_months + 1)

    @property
    def ends_on(self) -> datetime.date:
        """The last day of committed support."""
        return self.month_13_on - datetime.timedelta(days=1)

    @property
    def base_ends_on(self) -> datetime.date:
        """The last day of the base period (before extensions)."""
        return self.month_ends_on(min(self.base_months, MAX_SUPPORT_MONTHS))

    def period_ends(self) -> list[datetime.date]:
        """The first day after each period: the base period, then after each extension."""
        running = min(self.base_months, MAX_SUPPORT_MONTHS)
        ends = [self.month_starts_on(running + 1)]
        for months in self.extensions:
            running = min(MAX_SUPPORT_MONTHS, running + months)
            ends.append(self.month_starts_on(running + 1))
        return ends

    def month_on(self, day: datetime.date) -> int | None:
        """Month N of support on `day`: None before arrival; past the committed months it
        keeps counting (a list says "past month 12"), never beyond the cap."""
        if day < self.arrival:
            return None
        return min(MAX_SUPPORT_MONTHS, months_between(self.arrival, day) + 1)

    def months_remaining(self, day: datetime.date) -> int:
        """Whole committed months after the one `day` falls in (all of them before arrival)."""
        month = self.month_on(day)
        if month is None:
            return self.committed_months
        return max(0, self.committed_months - month)

    def months_begun_between(self, first: datetime.date, last: datetime.date) -> list[int]:
        """Committed support months whose first day falls within [first, last]."""
        return [
            n
            for n in range(1, self.committed_months + 1)
            if first <= self.month_starts_on(n) <= last
        ]


# --- the same rule in SQL ---------------------------------------------------------------------


class AddMonths(Func):
    """`date` + `months` whole months, clamped to the month's end like `core.dates.add_months`.

    PostgreSQL's date + interval already clamps (31 Jan + 1 month = 28/29 Feb); SQLite's
    date() modifiers do not (they overflow into March), so there the day is added to the
    target month's first day and capped at that month's last day.
    """

    output_field = models.DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra_context):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        return (
            f"(({date_sql}) + make_interval(months => ({months_sql})::integer))::date",
            (*date_params, *months_params),
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        sql = (
            f"MIN("
            f"date({date_sql}, 'start of month', '+' || ({months_sql}) || ' months', "
            f"'+' || (CAST(strftime('%%d', {date_sql}) AS INTEGER) - 1) || ' days'), "
            f"date({date_sql}, 'start of month', '+' || (({months_sql}) + 1) || ' months', "
            f"'-1 day'))"
        )
        params = (*date_params, *months_params, *date_params, *date_params, *months_params)
        return sql, params


def committed_months_sql(extension_months, base_months=BASE_SUPPORT_MONTHS):
    """`committed_months` as an SQL expression over an extension-months expression (and a
    base-months number or expression, e.g. `kinds.base_months_sql()`)."""
    if isinstance(base_months, int):
        base_months = models.Value(base_months)
    return models.functions.Least(
        models.Value(MAX_SUPPORT_MONTHS),
        models.ExpressionWrapper(
            base_months + extension_months, output_field=models.IntegerField()
        ),
        output_field=models.IntegerField(),
    )


def month_13_sql(arrival, extension_months, base_months=BASE_SUPPORT_MONTHS):
    """`Period.month_13_on` as an SQL expression (arrival field, extension-months expression,
    base months)."""
    if isinstance(arrival, str):
        arrival = models.F(arrival)
    return AddMonths(arrival, committed_months_sql(extension_months, base_months))
