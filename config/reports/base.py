"""What every report shares: who may open which, audiences and suppression, the Report."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import format_money
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER, has_role

INTERNAL, EXTERNAL = "internal", "external"
SUPPRESS_BELOW = 3
# Rows of a detail table (page, CSV and PDF alike). It also bounds the access-log rows of a
# download: 150 rows x 5 columns stay under SQLite's 999 parameters, so one INSERT.
MAX_ROWS = 150
CODES_PER_GROUP = 10  # case codes listed in a group's row

# key -> (title, roles that may open it)
REPORTS = {
    "program": (gettext_lazy("Program report"), (PROGRAM_MANAGER, CASE_WORKER)),
    "groups": (gettext_lazy("Group monitoring report"), (PROGRAM_MANAGER, CASE_WORKER)),
    "fundraising": (gettext_lazy("Fundraising report"), (PROGRAM_MANAGER, FUNDRAISING)),
}


def may_open(user, key: str) -> bool:
    return key in REPORTS and has_role(user, *REPORTS[key][1])


def reports_for(user) -> list[tuple[str, str]]:
    """(key, title) of the reports `user` may open, for the dashboard and the report pages."""
    return [(key, str(title)) for key, (title, _roles) in REPORTS.items() if may_open(user, key)]


# --- suppression --------------------------------------------------------------------------------


def suppressed_text() -> str:
    return _("fewer than 3")


def suppress(count: int, audience: str = EXTERNAL) -> int | str:
    """A count as it may be shown to `audience`: outside HanVoice, 1 and 2 become
    "fewer than 3" (a family could be singled out); 0 and 3+ are shown as they are."""
    if audience == EXTERNAL and 0 < count < SUPPRESS_BELOW:
        return suppressed_text()
    return count


def percent(part: int, whole: int, audience: str) -> str:
    """A share, or "-" when nothing is counted; outside HanVoice also "-" when the count
    behind it is small (a percentage of 2 milestones reveals the 2)."""
    if not whole or (audience == EXTERNAL and whole < SUPPRESS_BELOW):
        return "-"
    return f"{Decimal(part * 100) / whole:.0f}%"


def money_text(value: Decimal) -> str:
    """An amount as a person reads it in the active language (pages, CSV and PDF alike)."""
    return format_money(value)


def families_money(value: Decimal, families: int, audience: str) -> str:
    """Money spent on `families`: outside HanVoice "-" where the family count is suppressed,
    since the cost table turns one family's amount back into its size."""
    if audience == EXTERNAL and 0 < families < SUPPRESS_BELOW:
        return "-"
    return money_text(value)


# --- the report as data ---------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]]
    note: str = ""
    empty: str = ""


@dataclass
class ChartData:
    title: str
    points: list[tuple[str, Decimal | int | str]]  # label, value (a str when suppressed)
    money: bool = False
    vertical: bool = False


@dataclass
class Report:
    key: str
    title: str
    date_from: datetime.date
    date_to: datetime.date
    audience: str
    summary: list[tuple[str, object]] = field(default_factory=list)
    chart: ChartData | None = None
    tables: list[Table] = field(default_factory=list)
    family_ids: list[int] = field(default_factory=list)  # case codes shown: log the download
    filters: list[tuple[str, str]] = field(default_factory=list)  # e.g. ("Campaign", name)
    is_empty: bool = False  # nothing happened in the period: the page says so

    @property
    def audience_note(self) -> str:
        if self.audience == EXTERNAL:
            return _(
                "For people outside HanVoice: no case codes or group names; counts of 1 or 2 "
                "are shown as “fewer than 3”."
            )
        return _("For HanVoice staff only: contains case codes.")


def delivered_months(s, date_from: datetime.date, date_to: datetime.date) -> list[int]:
    """The support months of sponsorship `s` that began in the period (and before it ended)."""
    if not s.arrival_date:
        return []
    last = min(date_to, s.ended_on) if s.ended_on else date_to
    return s.period.months_begun_between(date_from, last)


# --- program report -------------------------------------------------------------------------------


def more_rows_note(total: int) -> str:
    if total <= MAX_ROWS:
        return ""
    return _(
        "The first %(shown)s of %(total)s rows; narrow the period or filter to see the rest."
    ) % {
        "shown": MAX_ROWS,
        "total": total,
    }


def group_letter(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < 26 else f"{letters[index // 26 - 1]}{letters[index % 26]}"


# --- fundraising report ---------------------------------------------------------------------------
