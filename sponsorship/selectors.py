"""Reads for staff pages and the (later) dashboard: set-based queries, no per-row queries.

Counts come from correlated subqueries rather than joins, so annotating several of them on
one queryset never multiplies rows (a JOIN on milestones and reviews at once would).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DateField,
    DecimalField,
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

from core.dates import add_months, months_between
from families.models import HouseholdMember
from sponsorship.models import (
    BASE_SUPPORT_MONTHS,
    MAX_SUPPORT_MONTHS,
    MONEY,
    CheckIn,
    CostTableEntry,
    Disbursement,
    Extension,
    Milestone,
    Review,
    SponsorGroup,
    Sponsorship,
)

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


# --- money ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostTable:
    """The RSTP cost table as loaded once: size → (12-month income support, start-up)."""

    rows: dict[int, tuple[Decimal, Decimal]]
    extra: tuple[Decimal, Decimal]

    @classmethod
    def load(cls) -> CostTable:
        rows: dict[int, tuple[Decimal, Decimal]] = {}
        extra = (Decimal("0"), Decimal("0"))
        for entry in CostTableEntry.objects.all():
            if entry.per_extra_person:
                extra = (entry.income_support, entry.start_up)
            else:
                rows[entry.family_size] = (entry.income_support, entry.start_up)
        return cls(rows=rows, extra=extra)

    def for_size(self, size: int) -> tuple[Decimal, Decimal]:
        """(12-month income support, start-up) for `size` people; beyond the largest row,
        each extra person adds the per-extra-person row."""
        if not self.rows:
            return (Decimal("0"), Decimal("0"))
        size = max(1, size)
        largest = max(self.rows)
        if size <= largest:
            return self.rows.get(size) or self.rows[min(s for s in self.rows if s >= size)]
        income, start_up = self.rows[largest]
        extra = size - largest
        return (income + extra * self.extra[0], start_up + extra * self.extra[1])


@dataclass
class BudgetMonth:
    month: int
    starts_on: datetime.date
    planned: Decimal
    paid: Decimal

    @property
    def balance(self) -> Decimal:
        return self.planned - self.paid


@dataclass
class Budget:
    """Planned vs paid for one sponsorship.

    The plan is the RSTP cost table (a planning estimate): monthly income support =
    12-month amount / 12 for the family's size, start-up once. After arrival the legal floor
    is the RAP rate of the community of settlement, so the plan is a guide, not a ceiling.
    Support may be reduced only once net employment income exceeds 50% of monthly support,
    and the Canada Child Benefit may never reduce it (docs/domain.md "Money").
    """

    family_size: int
    monthly_income_support: Decimal
    start_up_planned: Decimal
    start_up_paid: Decimal
    months: list[BudgetMonth] = field(default_factory=list)
    current_month: int | None = None

    @property
    def income_planned(self) -> Decimal:
        return sum((m.planned for m in self.months), Decimal("0"))

    @property
    def income_paid(self) -> Decimal:
        return sum((m.paid for m in self.months), Decimal("0"))

    @property
    def planned_total(self) -> Decimal:
        return self.income_planned + self.start_up_planned

    @property
    def paid_total(self) -> Decimal:
        return self.income_paid + self.start_up_paid

    @property
    def planned_to_date(self) -> Decimal:
        if not self.current_month:
            return Decimal("0")
        return sum((m.planned for m in self.months[: self.current_month]), Decimal("0"))

    @property
    def paid_to_date(self) -> Decimal:
        return sum((m.paid for m in self.months), Decimal("0"))

    @property
    def behind_by(self) -> Decimal:
        """Income support planned up to this month but not yet paid (0 when on track)."""
        return max(Decimal("0"), self.planned_to_date - self.paid_to_date)

    @property
    def owed_this_month(self) -> Decimal:
        if not self.current_month or self.current_month > len(self.months):
            return Decimal("0")
        return max(Decimal("0"), self.months[self.current_month - 1].balance)


def _monthly(income_12: Decimal) -> Decimal:
    return (income_12 / 12).quantize(CENT, rounding=ROUND_HALF_UP)


def budget_for(
    sponsorship: Sponsorship,
    today: datetime.date | None = None,
    cost_table: CostTable | None = None,
) -> Budget:
    """The sponsorship's budget: four queries whatever the number of disbursements."""
    today = today or timezone.localdate()
    cost_table = cost_table or CostTable.load()
    size = sponsorship.family.members.count()
    income_12, start_up = cost_table.for_size(size)
    monthly = _monthly(income_12)
    paid_rows = (
        Disbursement.objects.filter(sponsorship=sponsorship)
        .values("kind", "month_number")
        .annotate(total=Sum("amount"))
    )
    paid_income: dict[int, Decimal] = {}
    start_up_paid = Decimal("0")
    for row in paid_rows:
        if row["kind"] == Disbursement.Kind.START_UP:
            start_up_paid += row["total"]
        else:
            paid_income[row["month_number"]] = row["total"]
    committed = sponsorship.committed_months
    arrival = sponsorship.arrival_date
    months = [
        BudgetMonth(
            month=n,
            starts_on=add_months(arrival, n - 1) if arrival else None,
            planned=monthly,
            paid=paid_income.get(n, Decimal("0")),
        )
        for n in range(1, committed + 1)
    ]
    return Budget(
        family_size=size,
        monthly_income_support=monthly,
        start_up_planned=start_up,
        start_up_paid=start_up_paid,
        months=months,
        current_month=sponsorship.current_month(today) if sponsorship.is_active else None,
    )


# --- risk and program numbers ----------------------------------------------------------------


@dataclass
class GroupAtRisk:
    group: SponsorGroup
    reasons: list[str]


def groups_at_risk(today: datetime.date | None = None) -> list[GroupAtRisk]:
    """Groups needing staff attention: several overdue items, no check-in for 30 days after
    arrival, or income support behind plan. Four queries in all."""
    today = today or timezone.localdate()
    quiet_since = today - datetime.timedelta(days=AT_RISK_QUIET_DAYS)
    rows = (
        sponsorships_overview(today)
        .filter(arrival_date__isnull=False)
        .annotate(
            member_count=_count(
                HouseholdMember.objects.filter(family=OuterRef("family")), "family"
            ),
            income_paid=_sum(
                Disbursement.objects.filter(
                    sponsorship=OuterRef("pk"), kind=Disbursement.Kind.INCOME_SUPPORT
                ),
                "sponsorship",
                "amount",
            ),
        )
    )
    cost_table = CostTable.load()
    reasons: dict[int, list[str]] = {}

    def flag(group_id: int, reason: str) -> None:
        found = reasons.setdefault(group_id, [])
        if reason not in found:
            found.append(reason)

    # Plain values, not model instances: this scans every active sponsorship (thousands as
    # the program grows), and only a few numbers per row are needed.
    values = rows.values(
        "group_id", "arrival_date", "overdue_milestones", "overdue_reviews",
        "last_checkin_on", "member_count", "income_paid", "approved_extension_months",
    )  # fmt: skip
    for s in values:
        overdue = s["overdue_milestones"] + s["overdue_reviews"]
        if overdue >= AT_RISK_OVERDUE:
            flag(s["group_id"], str(_("%(n)s items overdue") % {"n": overdue}))
        quiet = s["last_checkin_on"] is None or s["last_checkin_on"] < quiet_since
        if quiet and s["arrival_date"] < quiet_since:
            flag(
                s["group_id"],
                str(_("no check-in for %(days)s days") % {"days": AT_RISK_QUIET_DAYS}),
            )
        extension = s["approved_extension_months"] or 0
        committed = min(MAX_SUPPORT_MONTHS, BASE_SUPPORT_MONTHS + extension)
        month = min(committed, months_between(s["arrival_date"], today) + 1)
        # Planned up to the month before this one: the current month's payment may be due.
        planned = _monthly(cost_table.for_size(s["member_count"])[0]) * max(0, month - 1)
        if s["income_paid"] < planned:
            flag(s["group_id"], str(_("income support behind plan")))
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
        if until < s.arrival_date:
            continue
        total += min(s.committed_months, months_between(s.arrival_date, until) + 1)
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
