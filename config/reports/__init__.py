"""Reports for the board, IRCC and donors: program, group monitoring, fundraising.

Each report is built once as plain data (a `Report`: summary figures, one chart's data,
tables) and then rendered three ways from that same object: the admin page, a CSV file and
a PDF. So the CSV and the PDF contain exactly what the page shows.

Two audiences:
- internal (HanVoice staff): case codes may appear, never a name.
- external (board, donors, IRCC): no case code, sponsor groups as "Group A", "Group B"
  (a group usually sponsors one family, so its name would point at that family), and every
  count of 1 or 2 shown as "fewer than 3" (`suppress`). Zero is shown as 0: "no family"
  singles nobody out, and hiding it would make the rest of a table unreadable. Money totals
  are not counts and are shown.

Cross-app joins happen here, in config/, so fundraising never imports families or sponsorship.
"""

from collections.abc import Callable

from config.reports.base import (
    CODES_PER_GROUP,
    EXTERNAL,
    INTERNAL,
    MAX_ROWS,
    REPORTS,
    SUPPRESS_BELOW,
    ChartData,
    Report,
    Table,
    may_open,
    reports_for,
    suppress,
    suppressed_text,
)
from config.reports.export import report_csv, report_pdf
from config.reports.fundraising import fundraising_report
from config.reports.group import group_report
from config.reports.program import program_report

BUILDERS: dict[str, Callable[..., Report]] = {
    "program": program_report,
    "groups": group_report,
    "fundraising": fundraising_report,
}

__all__ = [
    "EXTERNAL",
    "INTERNAL",
    "BUILDERS",
    "CODES_PER_GROUP",
    "ChartData",
    "MAX_ROWS",
    "REPORTS",
    "Report",
    "SUPPRESS_BELOW",
    "Table",
    "fundraising_report",
    "group_report",
    "may_open",
    "program_report",
    "report_csv",
    "report_pdf",
    "reports_for",
    "suppress",
    "suppressed_text",
]
