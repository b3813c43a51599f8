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

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import spreadsheets
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


def _percent(part: int, whole: int, audience: str) -> str:
    """A share, or "-" when nothing is counted; outside HanVoice also "-" when the count
    behind it is small (a percentage of 2 milestones reveals the 2)."""
    if not whole or (audience == EXTERNAL and whole < SUPPRESS_BELOW):
        return "-"
    return f"{Decimal(part * 100) / whole:.0f}%"


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"


def _families_money(value: Decimal, families: int, audience: str) -> str:
    """Money spent on `families`: outside HanVoice "-" where the family count is suppressed,
    since the cost table turns one family's amount back into its size."""
    if audience == EXTERNAL and 0 < families < SUPPRESS_BELOW:
        return "-"
    return _money(value)


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


def _months_in(arrival: datetime.date, months: int, start: datetime.date, end: datetime.date):
    """Support months (1..months) whose first day falls within [start, end]."""
    from core.dates import add_months

    return [n for n in range(1, months + 1) if start <= add_months(arrival, n - 1) <= end]


def _delivered_months(s, date_from: datetime.date, date_to: datetime.date) -> list[int]:
    """The support months of sponsorship `s` that began in the period (and before it ended)."""
    if not s.arrival_date:
        return []
    last = min(date_to, s.ended_on) if s.ended_on else date_to
    return _months_in(s.arrival_date, s.committed_months, date_from, last)


# --- program report -------------------------------------------------------------------------------


def program_report(
    *, date_from: datetime.date, date_to: datetime.date, audience: str = INTERNAL
) -> Report:
    """Families by stage, months of support delivered, milestones done on time, reviews held,
    outcomes, for the period. Six queries whatever the number of families."""
    from families.models import Family
    from families.selectors import families_by_status
    from sponsorship.models import Milestone, Review, Sponsorship

    title = str(REPORTS["program"][0])
    report = Report("program", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    period = {"due_on__gte": date_from, "due_on__lte": date_to}

    labels = dict(Family.Status.choices)
    stages = families_by_status()
    report.chart = ChartData(
        _("Families by stage (today)"),
        [(str(labels[s]), suppress(n, audience)) for s, n in stages.items()],
    )
    report.tables.append(
        Table(
            _("Families by stage (today)"),
            [_("Stage"), _("Families")],
            [[str(labels[s]), suppress(n, audience)] for s, n in stages.items()],
        )
    )

    sponsorships = list(
        Sponsorship.objects.with_period()
        .filter(arrival_date__isnull=False, arrival_date__lte=date_to)
        .exclude(ended_on__lt=date_from)
        .select_related("family", "group")
        .order_by("family__case_code")
    )
    by_sponsorship = {
        row["sponsorship"]: row
        for row in Milestone.objects.filter(waived_on__isnull=True, **period)
        .values("sponsorship")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(completed_on__isnull=False)),
            on_time=Count("pk", filter=Q(completed_on__lte=F("due_on"))),
        )
        .order_by()
    }
    reviews_by = {
        row["sponsorship"]: row["n"]
        for row in Review.objects.filter(held_on__gte=date_from, held_on__lte=date_to)
        .values("sponsorship")
        .annotate(n=Count("pk"))
        .order_by()
    }
    review_outcomes = dict(
        Review.objects.filter(held_on__gte=date_from, held_on__lte=date_to)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    ended = dict(
        Sponsorship.objects.filter(ended_on__gte=date_from, ended_on__lte=date_to)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )

    months_total = due = done = on_time = reviews = 0
    detail = []
    for s in sponsorships:
        months = _delivered_months(s, date_from, date_to)
        m = by_sponsorship.get(s.pk, {"due": 0, "done": 0, "on_time": 0})
        held = reviews_by.get(s.pk, 0)
        months_total += len(months)
        due += m["due"]
        done += m["done"]
        on_time += m["on_time"]
        reviews += held
        if months or m["due"] or held:
            detail.append(
                [
                    s.family.case_code,
                    s.group.name,
                    s.arrival_date,
                    len(months),
                    m["due"],
                    m["done"],
                    m["on_time"],
                    _percent(m["on_time"], m["due"], audience),
                    held,
                    str(s.get_outcome_display()),
                ]
            )
            if len(detail) <= MAX_ROWS:  # the rows shown (and downloaded)
                report.family_ids.append(s.family_id)

    report.summary = [
        (_("Families in the program"), suppress(sum(stages.values()), audience)),
        (_("Months of support delivered"), suppress(months_total, audience)),
        (_("Milestones due in the period"), suppress(due, audience)),
        (_("Milestones done"), suppress(done, audience)),
        (_("Milestones done on time"), _percent(on_time, due, audience)),
        (_("Reviews held"), suppress(reviews, audience)),
    ]
    outcome_labels = dict(Review.Outcome.choices)
    report.tables.append(
        Table(
            _("Reviews held, by outcome"),
            [_("Outcome"), _("Reviews")],
            [
                [str(label), suppress(review_outcomes.get(key, 0), audience)]
                for key, label in outcome_labels.items()
            ],
        )
    )
    ended_labels = dict(Sponsorship.Outcome.choices)
    report.tables.append(
        Table(
            _("Sponsorships ended in the period, by outcome"),
            [_("Outcome"), _("Sponsorships")],
            [
                [str(label), suppress(ended.get(key, 0), audience)]
                for key, label in ended_labels.items()
                if key != Sponsorship.Outcome.ACTIVE
            ],
        )
    )
    report.is_empty = not (months_total or due or reviews or ended)
    if external:
        report.family_ids = []
    else:
        report.tables.append(
            Table(
                _("By sponsorship"),
                [
                    _("Case code"),
                    _("Sponsor group"),
                    _("Arrived"),
                    _("Months of support"),
                    _("Milestones due"),
                    _("Done"),
                    _("Done on time"),
                    _("On time"),
                    _("Reviews held"),
                    _("Outcome"),
                ],
                detail[:MAX_ROWS],
                note=_more(len(detail)),
                empty=_("No sponsorship had support, milestones or reviews in this period."),
            )
        )
    return report


# --- group monitoring report ----------------------------------------------------------------------


def group_report(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    audience: str = INTERNAL,
    group=None,
) -> Report:
    """Per sponsor group: settlement plan due vs done, income support planned vs paid,
    check-ins, for the period. Seven queries whatever the number of groups or families."""
    from families.models import HouseholdMember
    from sponsorship.models import CheckIn, Disbursement, Milestone, Sponsorship
    from sponsorship.selectors import CostTable, _count, _monthly

    title = str(REPORTS["groups"][0])
    report = Report("groups", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    if group is not None:
        report.filters.append((_("Sponsor group"), _("one group") if external else group.name))

    sponsorships = (
        Sponsorship.objects.with_period()
        .filter(arrival_date__isnull=False, arrival_date__lte=date_to)
        .exclude(ended_on__lt=date_from)
        .select_related("family", "group")
        .annotate(
            member_count=_count(HouseholdMember.objects.filter(family=OuterRef("family")), "family")
        )
        .order_by("group__name", "family__case_code")
    )
    if group is not None:
        sponsorships = sponsorships.filter(group=group)
    sponsorships = list(sponsorships)
    ids = [s.pk for s in sponsorships]
    milestones = {
        row["sponsorship"]: row
        for row in Milestone.objects.filter(
            sponsorship__in=ids, waived_on__isnull=True, due_on__gte=date_from, due_on__lte=date_to
        )
        .values("sponsorship")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(completed_on__isnull=False)),
            on_time=Count("pk", filter=Q(completed_on__lte=F("due_on"))),
        )
        .order_by()
    }
    paid = {
        (row["sponsorship"], row["kind"]): row["total"]
        for row in Disbursement.objects.filter(
            sponsorship__in=ids, paid_on__gte=date_from, paid_on__lte=date_to
        )
        .values("sponsorship", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    checkins = {
        row["sponsorship"]: row
        for row in CheckIn.objects.filter(
            sponsorship__in=ids, happened_on__gte=date_from, happened_on__lte=date_to
        )
        .values("sponsorship")
        .annotate(n=Count("pk"), concerns=Count("pk", filter=~Q(concern_level="none")))
        .order_by()
    }
    cost_table = CostTable.load()

    groups: dict[int, dict] = {}
    zero = Decimal("0")
    for s in sponsorships:
        g = groups.setdefault(
            s.group_id,
            {
                "name": s.group.name,
                "families": 0,
                "codes": [],
                "due": 0,
                "done": 0,
                "on_time": 0,
                "planned": zero,
                "paid": zero,
                "start_up": zero,
                "checkins": 0,
                "concerns": 0,
            },
        )
        m = milestones.get(s.pk, {"due": 0, "done": 0, "on_time": 0})
        monthly = _monthly(cost_table.for_size(s.member_count)[0])
        c = checkins.get(s.pk, {"n": 0, "concerns": 0})
        g["families"] += 1
        if len(g["codes"]) < CODES_PER_GROUP:
            g["codes"].append(s.family.case_code)
            report.family_ids.append(s.family_id)
        g["due"] += m["due"]
        g["done"] += m["done"]
        g["on_time"] += m["on_time"]
        g["planned"] += monthly * len(_delivered_months(s, date_from, date_to))
        g["paid"] += paid.get((s.pk, Disbursement.Kind.INCOME_SUPPORT), zero)
        g["start_up"] += paid.get((s.pk, Disbursement.Kind.START_UP), zero)
        g["checkins"] += c["n"]
        g["concerns"] += c["concerns"]

    rows = []
    for index, g in enumerate(groups.values()):
        name = _("Group %(letter)s") % {"letter": _letter(index)} if external else g["name"]
        row = [name]
        if not external:
            more = g["families"] - len(g["codes"])
            codes = ", ".join(g["codes"])
            row.append(codes + (" " + _("and %(n)s more") % {"n": more} if more else ""))
        row += [
            suppress(g["families"], audience),
            suppress(g["due"], audience),
            suppress(g["done"], audience),
            _percent(g["on_time"], g["due"], audience),
            _families_money(g["planned"], g["families"], audience),
            _families_money(g["paid"], g["families"], audience),
            _families_money(g["paid"] - g["planned"], g["families"], audience),
            _families_money(g["start_up"], g["families"], audience),
            suppress(g["checkins"], audience),
            suppress(g["concerns"], audience),
        ]
        rows.append(row)
    columns = [_("Sponsor group")]
    if not external:
        columns.append(_("Case codes"))
    columns += [
        _("Families"),
        _("Plan items due"),
        _("Done"),
        _("Done on time"),
        _("Income support planned"),
        _("Income support paid"),
        _("Paid minus planned"),
        _("Start-up paid"),
        _("Check-ins"),
        _("Check-ins with a concern"),
    ]
    report.tables.append(
        Table(
            _("By sponsor group"),
            columns,
            rows[:MAX_ROWS],
            note=_(
                "Planned income support: the cost table's monthly amount for the family's size, "
                "for each support month that began in the period (a planning estimate; the "
                "legal floor is the RAP rate of the community)."
            ),
            empty=_("No sponsor group had a family in Canada in this period."),
        )
    )
    totals = {k: sum(g[k] for g in groups.values()) for k in ("due", "done", "checkins")}
    planned = sum((g["planned"] for g in groups.values()), zero)
    paid_total = sum((g["paid"] for g in groups.values()), zero)
    all_families = sum(g["families"] for g in groups.values())
    report.summary = [
        (_("Sponsor groups"), suppress(len(groups), audience)),
        (_("Plan items due"), suppress(totals["due"], audience)),
        (_("Plan items done"), suppress(totals["done"], audience)),
        (_("Income support planned"), _families_money(planned, all_families, audience)),
        (_("Income support paid"), _families_money(paid_total, all_families, audience)),
        (_("Check-ins"), suppress(totals["checkins"], audience)),
    ]
    report.chart = ChartData(
        _("Income support paid by sponsor group"),
        [
            (row[0], "-" if external and 0 < g["families"] < SUPPRESS_BELOW else g["paid"])
            for row, g in zip(rows, groups.values(), strict=True)
        ],
        money=True,
    )
    report.is_empty = not groups
    if external:
        report.family_ids = []
    return report


def _more(total: int) -> str:
    if total <= MAX_ROWS:
        return ""
    return _(
        "The first %(shown)s of %(total)s rows; narrow the period or filter to see the rest."
    ) % {
        "shown": MAX_ROWS,
        "total": total,
    }


def _letter(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < 26 else f"{letters[index // 26 - 1]}{letters[index % 26]}"


# --- fundraising report ---------------------------------------------------------------------------


def fundraising_report(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    audience: str = INTERNAL,
    campaign=None,
) -> Report:
    """Money received by month and by campaign, pledged-but-unpaid, receipts issued and not yet
    issued, for the period. A fixed number of queries whatever the number of pledges."""
    from fundraising.models import Campaign, Payment, Pledge, Receipt
    from fundraising.selectors import payments_not_receipted, pledges_unpaid

    title = str(REPORTS["fundraising"][0])
    report = Report("fundraising", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    if campaign is not None:
        report.filters.append((_("Campaign"), campaign.name))
    zero = Decimal("0")

    payments = Payment.objects.filter(received_on__gte=date_from, received_on__lte=date_to)
    if campaign is not None:
        payments = payments.filter(campaign=campaign)
    by_month = {
        row["month"]: (row["total"], row["n"])
        for row in payments.annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .order_by("month")
    }
    from config.dashboard import month_starts

    months = month_starts(date_from, date_to) if by_month else []
    month_rows = [
        [
            f"{m:%Y-%m}",
            _money(by_month.get(m, (zero, 0))[0]),
            suppress(by_month.get(m, (zero, 0))[1], audience),
        ]
        for m in months
    ]
    report.chart = ChartData(
        _("Money received per month"),
        [(f"{m:%b %y}", by_month.get(m, (zero, 0))[0]) for m in months],
        money=True,
        vertical=True,
    )
    report.tables.append(
        Table(
            _("Received by month"),
            [_("Month"), _("Received"), _("Gifts")],
            month_rows,
            empty=_("No money was received in this period."),
        )
    )

    campaigns = Campaign.objects.order_by("-starts_on", "name")
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    received = {
        row["campaign"]: (row["total"], row["n"])
        for row in payments.values("campaign")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .order_by()
    }
    pledged = {
        row["campaign"]: (row["total"], row["n"])
        for row in Pledge.objects.filter(pledged_on__gte=date_from, pledged_on__lte=date_to)
        .exclude(status=Pledge.Status.CANCELLED)
        .values("campaign")
        .annotate(total=Sum(F("amount") * F("months")), n=Count("pk"))
        .order_by()
    }
    campaign_rows = []
    for c in campaigns:
        got, gifts = received.get(c.pk, (zero, 0))
        promised, pledges = pledged.get(c.pk, (zero, 0))
        campaign_rows.append(
            [
                c.name,
                _money(c.goal),
                _money(promised),
                suppress(pledges, audience),
                _money(got),
                suppress(gifts, audience),
            ]
        )
    report.tables.append(
        Table(
            _("By campaign"),
            [
                _("Campaign"),
                _("Goal"),
                _("Pledged in the period"),
                _("Pledges"),
                _("Received in the period"),
                _("Gifts"),
            ],
            campaign_rows,
            empty=_("No campaign yet."),
        )
    )

    unpaid = pledges_unpaid(campaign).filter(pledged_on__gte=date_from, pledged_on__lte=date_to)
    unpaid_totals = unpaid.aggregate(n=Count("pk"), owed_total=Sum("owed"))
    owed = unpaid_totals["owed_total"] or zero
    if not external:
        report.tables.append(
            Table(
                _("Pledged but not yet fully received"),
                [_("Reference"), _("Pledged on"), _("Pledged"), _("Received"), _("Still to come")],
                [
                    [
                        p.reference,
                        p.pledged_on,
                        _money(p.amount * p.months),
                        _money(p.paid),
                        _money(p.owed),
                    ]
                    for p in unpaid.order_by("pledged_on", "pk")[:MAX_ROWS]
                ],
                note=_("Pledge references only; donors' names stay in the pledge records."),
                empty=_("Every pledge made in this period has been received."),
            )
        )

    receipts = Receipt.objects.filter(issued_on__gte=date_from, issued_on__lte=date_to)
    receipt_counts = receipts.aggregate(
        issued=Count("pk", filter=Q(cancelled_at__isnull=True)),
        cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
        eligible=Sum("eligible_amount", filter=Q(cancelled_at__isnull=True)),
    )
    waiting = payments_not_receipted().filter(received_on__gte=date_from, received_on__lte=date_to)
    if campaign is not None:
        waiting = waiting.filter(campaign=campaign)
    waiting_totals = waiting.aggregate(n=Count("pk"), total=Sum("amount"))
    total_received = sum((v[0] for v in by_month.values()), zero)
    gifts_total = sum(v[1] for v in by_month.values())
    report.summary = [
        (_("Received in the period"), _money(total_received)),
        (_("Gifts received"), suppress(gifts_total, audience)),
        (_("Pledges not yet fully received"), suppress(unpaid_totals["n"], audience)),
        (_("Still to come on those pledges"), _money(owed)),
        (_("Receipts issued"), suppress(receipt_counts["issued"], audience)),
        (_("Receipts cancelled"), suppress(receipt_counts["cancelled"], audience)),
        (_("Eligible amount receipted"), _money(receipt_counts["eligible"] or zero)),
        (_("Gifts not yet receipted"), suppress(waiting_totals["n"], audience)),
        (_("Amount not yet receipted"), _money(waiting_totals["total"] or zero)),
    ]
    report.is_empty = not (
        by_month or unpaid_totals["n"] or receipt_counts["issued"] or receipt_counts["cancelled"]
    )
    return report


BUILDERS = {"program": program_report, "groups": group_report, "fundraising": fundraising_report}


# --- CSV and PDF --------------------------------------------------------------------------------


def _cell(value) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def report_csv(report: Report) -> str:
    """The report as CSV: the same sections as the page, one after another."""
    out = io.StringIO()
    w = spreadsheets.writer(out)  # neutralises formula-like cells
    w.writerow([report.title])
    w.writerow([_("Period"), report.date_from.isoformat(), report.date_to.isoformat()])
    for label, value in report.filters:
        w.writerow([label, value])
    w.writerow([report.audience_note])
    w.writerow([])
    for label, value in report.summary:
        w.writerow([label, _cell(value)])
    for table in report.tables:
        w.writerow([])
        w.writerow([table.title])
        w.writerow(table.columns)
        for row in table.rows:
            w.writerow([_cell(v) for v in row])
        if not table.rows and table.empty:
            w.writerow([table.empty])
        if table.note:
            w.writerow([table.note])
    return out.getvalue()


def report_pdf(report: Report) -> bytes:
    """The report as PDF (reportlab): the same figures and tables as the page, and the
    chart drawn with reportlab.graphics from the same numbers and the same palette."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import LETTER, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    font, bold = _pdf_fonts(report)
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        if hasattr(style, "fontName"):
            style.fontName = (
                bold if style.name.startswith("Heading") or style.name == "Title" else font
            )
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(LETTER),
        leftMargin=0.6 * inch,
        rightMargin=0.6 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=report.title,
        invariant=1,
    )
    story = [
        Paragraph(_esc(report.title), styles["Title"]),
        Paragraph(
            _esc(
                _("Period: %(start)s to %(end)s")
                % {"start": report.date_from.isoformat(), "end": report.date_to.isoformat()}
            ),
            styles["BodyText"],
        ),
    ]
    for label, value in report.filters:
        story.append(Paragraph(_esc(f"{label}: {value}"), styles["BodyText"]))
    story += [Paragraph(_esc(report.audience_note), styles["BodyText"]), Spacer(1, 8)]
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("FONT", (0, 0), (-1, 0), bold, 8),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#6E6E6E")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E9ECEF")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    summary = [[label, _cell(value)] for label, value in report.summary]
    if summary:
        t = PdfTable(summary, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 9),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#6E6E6E")),
                ]
            )
        )
        story += [t, Spacer(1, 10)]
    if report.chart is not None and report.chart.points:
        story += [
            Paragraph(_esc(report.chart.title), styles["Heading3"]),
            _pdf_chart(report.chart, font),
        ]
    for table in report.tables:
        story.append(Paragraph(_esc(table.title), styles["Heading3"]))
        if table.rows:
            data = [[Paragraph(_esc(c), small) for c in table.columns]]
            data += [[Paragraph(_esc(_cell(v)), small) for v in row] for row in table.rows]
            widths = [doc.width / len(table.columns)] * len(table.columns)
            t = PdfTable(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
            t.setStyle(grid)
            story.append(t)
        elif table.empty:
            story.append(Paragraph(_esc(table.empty), styles["BodyText"]))
        if table.note:
            story.append(Paragraph(_esc(table.note), small))
        story.append(Spacer(1, 8))
    doc.build(story)
    return buffer.getvalue()


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(str(text))


def _pdf_fonts(report: Report) -> tuple[str, str]:
    """Helvetica, unless some text (a translation, a campaign name) needs a CJK font."""
    texts = [report.title, report.audience_note, *[str(v) for pair in report.summary for v in pair]]
    for table in report.tables:
        texts += [str(c) for c in table.columns] + [str(v) for row in table.rows for v in row]
    if all(ord(ch) < 256 for text in texts for ch in text):
        return "Helvetica", "Helvetica-Bold"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    cjk = "HYSMyeongJo-Medium"
    if cjk not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(cjk))
    return cjk, cjk


def _pdf_chart(chart: ChartData, font: str):
    """A bar chart with reportlab.graphics from the chart's numbers (suppressed values are
    drawn as empty bars and named in the axis label)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    from core.charts import PALETTE

    labels = [
        f"{label} ({value})" if isinstance(value, str) else label for label, value in chart.points
    ]
    values = [0 if isinstance(v, str) else float(v) for _label, v in chart.points]
    if chart.vertical:
        drawing = Drawing(680, 190)
        bars = VerticalBarChart()
        bars.x, bars.y, bars.width, bars.height = 50, 35, 610, 140
        bars.categoryAxis.labels.angle = 0
        bars.categoryAxis.labels.fontSize = 7
    else:
        drawing = Drawing(680, max(60, 20 * len(values) + 30))
        bars = HorizontalBarChart()
        bars.x, bars.y, bars.width, bars.height = 200, 15, 440, max(30, 20 * len(values))
        bars.categoryAxis.labels.fontSize = 8
        bars.categoryAxis.reverseDirection = 1
    bars.data = [values]
    bars.categoryAxis.categoryNames = labels
    bars.categoryAxis.labels.fontName = font
    bars.valueAxis.labels.fontName = font
    bars.valueAxis.labels.fontSize = 7
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor(PALETTE["blue"])
    bars.barLabelFormat = (lambda v: f"${v:,.0f}") if chart.money else (lambda v: f"{v:,.0f}")
    bars.barLabels.fontName = font
    bars.barLabels.fontSize = 7
    bars.barLabels.nudge = 8
    drawing.add(bars)
    return drawing
