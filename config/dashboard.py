"""The staff dashboard (the admin's index page): the whole program at a glance.

It joins case management and fundraising, so it lives in `config/` and the apps stay
independent. What a role may not see is not even queried: case workers get no money panels,
fundraising staff no family or sponsorship panel (docs/architecture.md, "Who may see what").

Every panel is a fixed number of queries whatever the number of families, pledges or
reminders (asserted at 5 and 500 families in tests/config/test_dashboard.py); the timeline
shows the most urgent sponsorships first and at most TIMELINE_ROWS of them, the groups at
risk at most LIST_ROWS.

The case panels that scan every active sponsorship (families by status, the timeline,
overdue by group, groups at risk) are kept as a summary, rendered, per day and language in
each web process's memory (they name case codes: the cache holds only their generation
token), and checked in one cache round trip: a program of thousands of sponsorships costs
the page what five cost. Saving or deleting any row they count (milestone, review, check-in,
payment, extension, sponsorship, sponsor group, family, household member) drops the summary
at once and again when the change commits, so the next page rebuilds it: the figures are
exact. The summary also expires after SUMMARY_MAX_AGE, the backstop for bulk writes that
bypass model saves. Urgent concerns and failed reminders are read live (small, indexed).
See docs/dashboard.md.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Prefetch, QuerySet
from django.db.models.signals import m2m_changed
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from config.reports import reports_for
from core import charts
from core.dates import month_starts, shown
from core.prepared import FixedQuery
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER, has_role
from core.summaries import cached, drop_now_and_on_commit, on_save_or_delete
from families.models import Family, HouseholdMember
from families.selectors import families_by_status
from fundraising.models import Campaign, Payment, Pledge, Receipt
from fundraising.selectors import (
    FIGURES_GENERATION_KEY,
    campaign_totals,
    campaigns_active,
    payments_not_receipted,
    pledges_unpaid,
    received_by_month,
)
from sponsorship.kinds import base_months_sql
from sponsorship.models import (
    CheckIn,
    Disbursement,
    Extension,
    Milestone,
    Reminder,
    Review,
    SponsorGroup,
    Sponsorship,
)
from sponsorship.period import month_13_sql
from sponsorship.portal_selectors import urgent_checkins_unacknowledged
from sponsorship.selectors import groups_at_risk, overdue_by_group, sponsorships_overview

TIMELINE_ROWS = 40
LIST_ROWS = 10
GENERATION_KEY = "dashboard:cases:generation"
MONEY_MONTHS = 12
# The reminder admin arrives with the reminders work: link by URL string, not reverse().
FAILED_REMINDERS_URL = "/admin/sponsorship/reminder/?failed_at__isnull=False"


def can_see_cases(user: User | AnonymousUser) -> bool:
    return has_role(user, PROGRAM_MANAGER, CASE_WORKER)


def can_see_money(user: User | AnonymousUser) -> bool:
    return has_role(user, PROGRAM_MANAGER, FUNDRAISING)


def _url(name: str, query: dict | None = None, args: list | None = None) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


# --- case management -------------------------------------------------------------------------


@dataclass
class StatusRow:
    status: str
    label: str
    count: int
    href: str


@dataclass
class GroupOverdue:
    name: str
    milestones: int
    reviews: int
    milestones_href: str
    reviews_href: str


@dataclass
class RiskRow:
    name: str
    reasons: list[str]
    href: str


@dataclass
class UrgentRow:
    case_code: str
    group: str
    happened_on: datetime.date
    href: str


@dataclass
class FailedReminder:
    kind: str
    due_on: datetime.date
    case_code: str
    failed_at: datetime.datetime


@dataclass
class CasePanels:
    statuses: list[StatusRow]
    status_chart: SafeString
    families_total: int
    timeline: SafeString
    timeline_shown: int
    timeline_total: int
    sponsorships_href: str
    overdue: list[GroupOverdue]
    overdue_chart: SafeString
    at_risk: list[RiskRow]
    at_risk_total: int
    urgent: list[UrgentRow] = field(default_factory=list)
    urgent_total: int = 0
    failed: list[FailedReminder] = field(default_factory=list)
    failed_total: int = 0
    failed_href: str = FAILED_REMINDERS_URL
    built_at: datetime.datetime | None = None
    # The panels above rendered (`_render_cases`): everything but the two live lists.
    status_html: SafeString = SafeString("")
    at_risk_html: SafeString = SafeString("")
    rest_html: SafeString = SafeString("")


def _statuses() -> list[StatusRow]:

    labels = dict(Family.Status.choices)
    return [
        StatusRow(
            status=status,
            label=str(labels[status]),
            count=count,
            href=_url("admin:families_family_changelist", {"status__exact": status}),
        )
        for status, count in families_by_status().items()
    ]


def _spans(today: datetime.date) -> tuple[list[charts.Span], int]:
    """The active sponsorships that have arrived, most overdue items first (then the soonest
    month 13, extensions counted), with their reviews and overdue milestones as marks. Four
    queries."""

    base = sponsorships_overview(today).filter(arrival_date__isnull=False)
    total = base.count()
    rows = list(
        base.annotate(
            period_month_13_on=month_13_sql(
                "arrival_date", F("approved_extension_months"), base_months_sql()
            )
        )
        .order_by("-overdue_milestones", "-overdue_reviews", "period_month_13_on", "pk")
        .prefetch_related(
            Prefetch(
                "milestones",
                queryset=Milestone.objects.overdue(today).order_by("due_on"),
                to_attr="overdue_list",
            ),
            Prefetch(
                "reviews", queryset=Review.objects.order_by("scheduled_for"), to_attr="review_list"
            ),
        )[:TIMELINE_ROWS]
    )
    spans = []
    for s in rows:
        period = s.period
        if period is None:  # not arrived: no bar (the query keeps arrived families only)
            continue
        marks = []
        for review in s.review_list:
            late = review.held_on is None and review.scheduled_for < today
            state = _("held") if review.held_on else (_("overdue") if late else _("scheduled"))
            marks.append(
                (
                    review.scheduled_for,
                    "overdue" if late else "review",
                    f"{review.label} ({state}, {shown(review.scheduled_for)})",
                )
            )
        marks += [
            (m.due_on, "overdue", _("Overdue: %(title)s") % {"title": m.title})
            for m in s.overdue_list
        ]
        marks.append(
            (
                period.month_13_on,
                "month13",
                _("Month 13: %(day)s") % {"day": shown(period.month_13_on)},
            )
        )
        spans.append(
            charts.Span(
                label=s.family.case_code,
                start=period.starts_on,
                end=period.base_ends_on,
                extended_to=period.ends_on if period.extension_months else None,
                marks=marks,
                href=reverse("admin:sponsorship_sponsorship_change", args=[s.pk]),
            )
        )
    return spans, total


def _overdue() -> list[GroupOverdue]:

    milestones = reverse("admin:sponsorship_milestone_changelist")
    sponsorships = reverse("admin:sponsorship_sponsorship_changelist")
    return [
        GroupOverdue(
            name=g.name,
            milestones=g.overdue_milestones,  # type: ignore[attr-defined]  # from the queryset's annotate()
            reviews=g.overdue_reviews,  # type: ignore[attr-defined]  # from the queryset's annotate()
            milestones_href=f"{milestones}?"
            + urlencode({"sponsorship__group__id__exact": g.pk, "due": "overdue"}),
            reviews_href=f"{sponsorships}?"
            + urlencode({"group__id__exact": g.pk, "outcome__exact": "active"}),
        )
        for g in overdue_by_group()[:LIST_ROWS]
    ]


def _case_summary(today: datetime.date) -> CasePanels:
    """The panels that read every active sponsorship: built on a cache miss only."""
    statuses = _statuses()
    spans, total = _spans(today)
    overdue = _overdue()
    sponsorships = reverse("admin:sponsorship_sponsorship_changelist")
    risks = groups_at_risk(today)
    at_risk = [
        RiskRow(
            name=r.group.name,
            reasons=r.reasons,
            href=f"{sponsorships}?"
            + urlencode({"group__id__exact": r.group.pk, "outcome__exact": "active"}),
        )
        for r in risks[:LIST_ROWS]
    ]
    bars = [charts.Bar(row.label, row.count, href=row.href) for row in statuses]
    overdue_bars = [
        charts.Bar(
            g.name, g.milestones, colour=charts.PALETTE["vermillion"], href=g.milestones_href
        )
        for g in overdue
    ]
    return CasePanels(
        statuses=statuses,
        status_chart=charts.bar_chart(bars, title=_("Families by status"), cid="chart-status"),
        families_total=sum(row.count for row in statuses),
        timeline=charts.timeline(
            spans,
            today=today,
            title=_("Support periods of the active sponsorships"),
            cid="chart-timeline",
            today_label=_("Today"),
            legend={
                "support": _("12 months of support"),
                "extension": _("Extension"),
                "review": _("Review"),
                "overdue": _("Overdue"),
                "month13": _("Month 13"),
            },
        ),
        timeline_shown=len(spans),
        timeline_total=total,
        sponsorships_href=f"{sponsorships}?outcome__exact=active",
        overdue=overdue,
        overdue_chart=charts.bar_chart(
            overdue_bars, title=_("Overdue milestones by sponsor group"), cid="chart-overdue"
        ),
        at_risk=at_risk,
        at_risk_total=len(risks),
        built_at=timezone.now(),
    )


def _summary_key(part: str, today: datetime.date) -> str:
    return f"dashboard:{part}:v3:{today.isoformat()}:{get_language()}:{get_script_prefix()}"


def _render_cases(panels: CasePanels) -> CasePanels:
    """The summary with its panels rendered, once per generation, language and script
    prefix: nothing in them depends on the request or the user (docs/dashboard.md)."""

    def render(name: str) -> SafeString:
        return SafeString(render_to_string(f"admin/dashboard/{name}.html", {"c": panels}))

    return replace(
        panels,
        status_html=render("cases_status"),
        at_risk_html=render("cases_at_risk"),
        rest_html=render("cases_timeline"),
    )


def _cached_case_summary(today: datetime.date) -> CasePanels:
    """Kept in this process's memory only: the timeline holds case codes, which never go to
    the cache (docs/performance.md, "Staff dashboard")."""
    return cached(
        _summary_key("cases", today),
        [GENERATION_KEY],
        lambda: _render_cases(_case_summary(today)),
        local=True,
    )


def case_figures_changed(sender, **kwargs) -> None:
    """Signal receiver: a row the case panels count was saved or deleted."""
    drop_now_and_on_commit(GENERATION_KEY)


COUNTED_MODELS = (
    Milestone,
    Review,
    CheckIn,
    Disbursement,
    Extension,
    Sponsorship,
    SponsorGroup,
    Family,
    HouseholdMember,
)


def money_changed(sender, **kwargs) -> None:
    """Signal receiver: a row the money panels count was saved or deleted (now, and on
    commit, as for the case panels). Services that write with a bulk UPDATE call
    `campaign_totals_invalidate` or `money_figures_changed` themselves."""
    if sender is Pledge and kwargs.get("created") and kwargs["instance"].confirmed_at is None:
        return  # a new unconfirmed pledge counts in no money figure (docs/fundraising.md)
    drop_now_and_on_commit(FIGURES_GENERATION_KEY)


MONEY_MODELS = (Campaign, Pledge, Payment, Receipt)


def connect_signals() -> None:
    """Called once by config's AppConfig.ready()."""
    on_save_or_delete(case_figures_changed, COUNTED_MODELS, "dashboard")
    on_save_or_delete(money_changed, MONEY_MODELS, "dashboard-money")
    # A receipt's payments are set after the receipt is saved.
    m2m_changed.connect(
        money_changed, sender=Receipt.payments.through, dispatch_uid="dashboard-money-receipt-m2m"
    )


def _urgent_rows() -> QuerySet:
    return urgent_checkins_unacknowledged().values_list(
        "sponsorship__family__case_code", "sponsorship__group__name", "happened_on", "public_id"
    )[:LIST_ROWS]


def _failed_reminders() -> QuerySet:
    return Reminder.objects.filter(failed_at__isnull=False, cancelled_at__isnull=True)


def _failed_rows() -> QuerySet:
    return (
        _failed_reminders()
        .order_by("-failed_at")
        .values_list("kind", "due_on", "sponsorship__family__case_code", "failed_at")[:LIST_ROWS]
    )


# The two short lists read live on every page, compiled to SQL once per process.
_URGENT = FixedQuery(_urgent_rows)
_FAILED = FixedQuery(_failed_rows)


def _case_panels(today: datetime.date) -> CasePanels:
    """The cached summary plus the two short lists read live."""
    urgent = [
        UrgentRow(
            case_code=case_code,
            group=group,
            happened_on=happened_on,
            href=reverse("admin:sponsorship_checkin_change", args=[public_id]),
        )
        for case_code, group, happened_on, public_id in _URGENT.rows()
    ]
    kinds = dict(Reminder._meta.get_field("kind").flatchoices)
    failed = [
        FailedReminder(
            kind=str(kinds.get(kind, kind)),
            due_on=due_on,
            case_code=case_code or "",
            failed_at=failed_at,
        )
        for kind, due_on, case_code, failed_at in _FAILED.rows()
    ]
    return replace(
        _cached_case_summary(today),
        urgent=urgent,
        urgent_total=(
            len(urgent) if len(urgent) < LIST_ROWS else urgent_checkins_unacknowledged().count()
        ),
        failed=failed,
        failed_total=len(failed) if len(failed) < LIST_ROWS else _failed_reminders().count(),
    )


# --- money ------------------------------------------------------------------------------------


@dataclass
class CampaignPanel:
    name: str
    received: Decimal
    pledged_outstanding: Decimal
    goal: Decimal
    donors: int
    families_funded: Decimal
    meter: SafeString
    pledges_href: str


@dataclass
class MoneyPanels:
    campaigns: list[CampaignPanel]
    by_month: list[tuple[datetime.date, Decimal, str]]
    by_month_chart: SafeString
    unpaid_count: int
    unpaid_href: str
    not_receipted: int
    not_receipted_href: str
    html: SafeString = SafeString("")  # the panels rendered (`_money_panels`)


def _money_panels(today: datetime.date) -> MoneyPanels:
    """The money panels, kept like the case summary: every change to a pledge, payment,
    receipt or campaign drops them (fundraising.selectors.FIGURES_GENERATION_KEY). The
    figures are kept in the cache (shared by the processes, no case data); each process
    keeps them rendered, once per generation, language and script prefix."""

    def render() -> MoneyPanels:
        panels = cached(
            _summary_key("money", today), [FIGURES_GENERATION_KEY], lambda: _money_summary(today)
        )
        html = render_to_string("admin/dashboard/money.html", {"m": panels})
        return replace(panels, html=SafeString(html))

    return cached(_summary_key("money-html", today), [FIGURES_GENERATION_KEY], render, local=True)


def _money_summary(today: datetime.date) -> MoneyPanels:
    campaigns = []
    for campaign in campaigns_active()[:3]:
        totals = campaign_totals(campaign)
        campaigns.append(
            CampaignPanel(
                name=campaign.name,
                received=totals.received,
                pledged_outstanding=totals.pledged_outstanding,
                goal=totals.goal,
                donors=totals.donors,
                families_funded=totals.families_funded,
                meter=charts.meter(
                    received=totals.received,
                    pledged=totals.pledged_outstanding,
                    goal=totals.goal,
                    title=_("%(campaign)s: received and pledged against the goal")
                    % {"campaign": campaign.name},
                    cid=f"chart-meter-{campaign.pk}",
                    labels=(_("Received"), _("Pledged, not yet received"), _("Goal")),
                ),
                pledges_href=_url(
                    "admin:fundraising_pledge_changelist", {"campaign__id__exact": campaign.pk}
                ),
            )
        )
    first = (today.replace(day=1) - datetime.timedelta(days=31 * (MONEY_MONTHS - 1))).replace(day=1)
    received_in = {row["month"]: row["total"] for row in received_by_month(since=first)}
    payments = reverse("admin:fundraising_payment_changelist")
    by_month = []
    for start in month_starts(first, today):
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        query = urlencode(
            {"received_on__gte": start.isoformat(), "received_on__lt": following.isoformat()}
        )
        by_month.append((start, received_in.get(start, Decimal("0")), f"{payments}?{query}"))
    # "M y" ("Dec 25") read as 25 December in Korean ("12월 25"): each language says its own.
    short_month = pgettext("a month on a chart axis, as a Django date format", "M y")
    bars = [
        charts.Bar(date_format(start, short_month), total, colour=charts.PALETTE["blue"], href=href)
        for start, total, href in by_month
    ]
    return MoneyPanels(
        campaigns=campaigns,
        by_month=by_month,
        by_month_chart=charts.column_chart(
            bars, title=_("Money received per month"), cid="chart-money", money=True
        ),
        unpaid_count=pledges_unpaid().count(),
        unpaid_href=_url("admin:fundraising_pledge_changelist", {"paid": "open"}),
        not_receipted=payments_not_receipted().count(),
        not_receipted_href=_url("admin:fundraising_payment_changelist", {"receipted": "no"}),
    )


# --- the whole page ---------------------------------------------------------------------------


@dataclass
class Dashboard:
    today: datetime.date
    cases: CasePanels | None = None
    money: MoneyPanels | None = None
    reports: list[tuple[str, str]] = field(default_factory=list)


def dashboard_for(user: User | AnonymousUser, today: datetime.date | None = None) -> Dashboard:
    """What `user` may see of the program; panels outside the user's role are never built."""

    today = today or timezone.localdate()
    return Dashboard(
        today=today,
        cases=_case_panels(today) if can_see_cases(user) else None,
        money=_money_panels(today) if can_see_money(user) else None,
        reports=reports_for(user),
    )
