"""Reads for staff pages and the (later) dashboard: set-based queries, no per-row queries.

Counts come from correlated subqueries rather than joins, so annotating several of them on
one queryset never multiplies rows (a JOIN on milestones and reviews at once would).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import add_months
from families.models import HouseholdMember
from sponsorship.budget import budgets_for
from sponsorship.models import (
    MONEY,
    CheckIn,
    Extension,
    Milestone,
    MonitoringContact,
    MonitoringSchedule,
    Review,
    SponsorGroup,
    Sponsorship,
)
from sponsorship.rap import RapTable, family_income, floor_flags, months_like, reductions

CENT = Decimal("0.01")
AT_RISK_OVERDUE = 2  # "several" overdue items
AT_RISK_QUIET_DAYS = 30  # no check-in for this long


def _count(queryset: QuerySet, key: str) -> Coalesce:
    """COUNT(*) of `queryset` correlated on `key` = the outer row, as an annotation."""
    sub = queryset.values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def _sum(queryset: QuerySet, key: str, column: str) -> Coalesce:
    sub = queryset.values(key).annotate(total=Sum(column)).values("total")
    return Coalesce(
        Subquery(sub, output_field=DecimalField(**MONEY)),
        Value(Decimal("0")),
        output_field=DecimalField(**MONEY),
    )


def _overdue_milestones(today: datetime.date) -> QuerySet:
    return Milestone.objects.overdue(today)


def _overdue_reviews(today: datetime.date) -> QuerySet:
    return Review.objects.filter(held_on__isnull=True, scheduled_for__lt=today)


def annotate_support(
    queryset: QuerySet, today: datetime.date, *, families: bool = False
) -> QuerySet:
    """Annotate sponsorships (or, with families=True, families through their active
    sponsorship) with what the support columns need: approved extension months, overdue counts,
    the next open milestone. Constant query count whatever the number of rows."""
    outer = OuterRef("pk")
    by = "sponsorship"
    approved = Extension.objects.filter(status=Extension.Status.APPROVED)
    next_open = Milestone.objects.open().filter(due_on__gte=today).order_by("due_on", "pk")
    if families:  # a family: correlate on its active sponsorship
        by = "sponsorship__family"
        approved = approved.filter(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
        next_open = next_open.filter(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
    milestones = _overdue_milestones(today)
    reviews = _overdue_reviews(today)
    if families:
        milestones = milestones.filter(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
        reviews = reviews.filter(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
    return queryset.annotate(
        approved_extension_months=Coalesce(
            Subquery(
                approved.filter(**{by: outer}).values(by).annotate(t=Sum("months")).values("t"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        overdue_milestones=_count(milestones.filter(**{by: outer}), by),
        overdue_reviews=_count(reviews.filter(**{by: outer}), by),
        next_due_title=Subquery(next_open.filter(**{by: outer}).values("title")[:1]),
        next_due_on=Subquery(
            next_open.filter(**{by: outer}).values("due_on")[:1], output_field=DateField()
        ),
    )


def sponsorships_overview(today: datetime.date | None = None) -> QuerySet[Sponsorship]:
    """Active sponsorships with family, group, period and overdue counts in one query."""
    today = today or timezone.localdate()
    last_checkin = CheckIn.objects.filter(sponsorship=OuterRef("pk")).order_by("-happened_on")
    return (
        annotate_support(Sponsorship.objects.active(), today)
        .select_related("family", "group", "family__case_worker")
        .annotate(
            last_checkin_on=Subquery(
                last_checkin.values("happened_on")[:1], output_field=DateField()
            )
        )
        .order_by("family__case_code")
    )


def overdue_by_group(today: datetime.date | None = None) -> QuerySet[SponsorGroup]:
    """Groups with their overdue milestone and review counts (active sponsorships only)."""
    today = today or timezone.localdate()
    active = {"sponsorship__outcome": Sponsorship.Outcome.ACTIVE}
    return (
        SponsorGroup.objects.annotate(
            overdue_milestones=_count(
                _overdue_milestones(today).filter(sponsorship__group=OuterRef("pk"), **active),
                "sponsorship__group",
            ),
            overdue_reviews=_count(
                _overdue_reviews(today).filter(sponsorship__group=OuterRef("pk"), **active),
                "sponsorship__group",
            ),
        )
        .filter(Q(overdue_milestones__gt=0) | Q(overdue_reviews__gt=0))
        .order_by("-overdue_milestones", "-overdue_reviews", "name")
    )


# --- HanVoice's own monitoring contacts ----------------------------------------------------


@dataclass(frozen=True)
class MonitoringWindow:
    schedule: MonitoringSchedule
    opens_on: datetime.date
    closes_on: datetime.date  # the last day of the window's last month
    contacted_on: datetime.date | None

    def is_overdue(self, today: datetime.date) -> bool:
        return self.contacted_on is None and today > self.closes_on


def monitoring_windows(
    sponsorship: Sponsorship,
    schedules: list[MonitoringSchedule] | None = None,
    contacts: list[datetime.date] | None = None,
) -> list[MonitoringWindow]:
    """Each scheduled contact window (support months) and the contact that met it, if any."""
    arrival = sponsorship.arrival_date
    if arrival is None:
        return []
    if schedules is None:
        schedules = list(MonitoringSchedule.objects.filter(is_active=True))
    if contacts is None:
        contacts = list(sponsorship.monitoring_contacts.values_list("happened_on", flat=True))
    windows = []
    for schedule in schedules:
        opens = add_months(arrival, schedule.from_month - 1)
        closes = add_months(arrival, schedule.to_month) - datetime.timedelta(days=1)
        met = sorted(day for day in contacts if opens <= day <= closes)
        windows.append(MonitoringWindow(schedule, opens, closes, met[0] if met else None))
    return windows


def _monitoring_flags(sponsorships: list[dict], today: datetime.date) -> dict[int, list[str]]:
    """Per sponsorship: a missed scheduled contact, a serious concern in the last 90 days.
    Two queries whatever the number of sponsorships."""
    schedules = list(MonitoringSchedule.objects.filter(is_active=True))
    by_sponsorship: dict[int, list[datetime.date]] = {}
    serious: set[int] = set()
    recent = today - datetime.timedelta(days=90)
    rows = MonitoringContact.objects.filter(
        sponsorship_id__in=[s["pk"] for s in sponsorships]
    ).values_list("sponsorship_id", "happened_on", "concern_level")
    for sponsorship_id, day, level in rows:
        by_sponsorship.setdefault(sponsorship_id, []).append(day)
        if level == MonitoringContact.Concern.SERIOUS and day >= recent:
            serious.add(sponsorship_id)
    flags: dict[int, list[str]] = {}
    for s in sponsorships:
        transient = Sponsorship(arrival_date=s["arrival_date"])
        windows = monitoring_windows(transient, schedules, by_sponsorship.get(s["pk"], []))
        if any(w.is_overdue(today) for w in windows):
            flags.setdefault(s["pk"], []).append(str(_("HanVoice contact with the family missed")))
        if s["pk"] in serious:
            flags.setdefault(s["pk"], []).append(str(_("serious concern at a HanVoice contact")))
    return flags


# --- risk and program numbers ----------------------------------------------------------------


@dataclass
class GroupAtRisk:
    group: SponsorGroup
    reasons: list[str]


def groups_at_risk(today: datetime.date | None = None) -> list[GroupAtRisk]:
    """Groups needing staff attention: several overdue items, no check-in for 30 days after
    arrival, income support behind plan (`Budget.behind_by`), a month planned or paid below
    the RAP floor (`sponsorship.rap`), a missed HanVoice monitoring contact or a serious
    concern raised at one. A fixed number of queries whatever the program's size."""
    today = today or timezone.localdate()
    quiet_since = today - datetime.timedelta(days=AT_RISK_QUIET_DAYS)
    rows = list(
        sponsorships_overview(today)
        .filter(arrival_date__isnull=False)
        .annotate(
            member_count=_count(HouseholdMember.objects.filter(family=OuterRef("family")), "family")
        )
        .annotate(community=F("family__community"))
        .select_related(None)
        .only("pk", "group_id", "family_id", "kind", "arrival_date", "ended_on")
    )
    budgets = budgets_for(rows, today)
    ids = [s.pk for s in rows]
    table = RapTable.load({s.community for s in rows})
    incomes, reduced = family_income(ids), reductions(ids)
    reasons: dict[int, list[str]] = {}

    def flag(group_id: int, reason: str) -> None:
        found = reasons.setdefault(group_id, [])
        if reason not in found:
            found.append(reason)

    for s in rows:
        overdue = s.overdue_milestones + s.overdue_reviews  # type: ignore[attr-defined]  # annotated
        if overdue >= AT_RISK_OVERDUE:
            flag(s.group_id, str(_("%(n)s items overdue") % {"n": overdue}))
        quiet = s.last_checkin_on is None or s.last_checkin_on < quiet_since  # type: ignore[attr-defined]
        if quiet and s.arrival_date is not None and s.arrival_date < quiet_since:
            flag(
                s.group_id,
                str(_("no check-in for %(days)s days") % {"days": AT_RISK_QUIET_DAYS}),
            )
        # Months before this one unpaid: the current month's payment may still be on its way.
        if budgets[s.pk].behind_by > 0:
            flag(s.group_id, str(_("income support behind plan")))
        below = floor_flags(
            months_like(budgets[s.pk]),
            community=s.community,
            family_size=budgets[s.pk].family_size,
            government_months=s.kind_rules.government_months,
            table=table,
            income=incomes.get(s.pk),
            reduced=reduced.get(s.pk),
        )
        if below:
            flag(s.group_id, str(_("income support below the RAP floor")))
    monitoring_rows = [{"pk": s.pk, "arrival_date": s.arrival_date} for s in rows]
    group_of = {s.pk: s.group_id for s in rows}
    for sponsorship_id, found in _monitoring_flags(monitoring_rows, today).items():
        for reason in found:
            flag(group_of[sponsorship_id], reason)
    groups = SponsorGroup.objects.in_bulk(list(reasons))
    return sorted(
        (GroupAtRisk(group=groups[pk], reasons=found) for pk, found in reasons.items()),
        key=lambda r: r.group.name,
    )


def months_of_support_delivered(today: datetime.date | None = None) -> int:
    """Months of support given so far across all sponsorships (ended ones up to their end)."""
    today = today or timezone.localdate()
    total = 0
    for s in Sponsorship.objects.with_period().filter(arrival_date__isnull=False):
        until = min(today, s.ended_on) if s.ended_on else today
        month = s.period.month_on(until)
        if month is not None:
            total += min(s.committed_months, month)
    return total


def period_summary(sponsorship: Sponsorship, today: datetime.date | None = None) -> str:
    """ "month N of M" (or a short state before arrival / after the end) for lists."""
    if not sponsorship.is_active:
        return str(sponsorship.get_outcome_display())
    month = sponsorship.current_month(today)
    if month is None:
        return str(_("not arrived"))
    if month > sponsorship.committed_months:
        return str(_("past month %(m)s") % {"m": sponsorship.committed_months})
    return str(_("month %(n)s of %(m)s") % {"n": month, "m": sponsorship.committed_months})
