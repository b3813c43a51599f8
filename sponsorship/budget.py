"""One budget for a sponsorship on a day: the one home of every income-support figure
(docs/domain.md "Money"). The staff admin, the portal, the group report, the staff
dashboard, reminder e-mails and the disbursement check all read a `Budget`.

The plan comes from the RSTP Sponsorship Cost Table (a planning estimate, kept as data):
the family's size gives a 12-month income-support amount and a one-time start-up amount.
Each month is planned at the 12-month amount / 12 rounded to the cent; the last sponsor-paid
month of the first year takes the reconciling cents, so the first year adds up exactly to
the table's figure (19,700 for two people: eleven months of 1,641.67 and month 12 of
1,641.63). Extension months are planned at the rounded monthly amount.

What is owed: a family lives month to month, so each month's support is owed in full and a
payment recorded for one month does not stand in for another. On a day, the group owes the
unpaid part of every month that has begun (the current one included) plus any unpaid
start-up (due on arrival). Nothing is owed before arrival; after the sponsorship ends,
nothing more falls due.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from families.models import HouseholdMember
from sponsorship.kinds import KindRules, rules_for
from sponsorship.models import CostTableEntry, Disbursement, Sponsorship
from sponsorship.period import BASE_SUPPORT_MONTHS, Period

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The month of the first year whose plan absorbs the rounding (the last one the sponsor pays).
RECONCILING_MONTH = BASE_SUPPORT_MONTHS


def to_cent(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CostTable:
    """The RSTP cost table as loaded once: size → (12-month income support, start-up)."""

    rows: dict[int, tuple[Decimal, Decimal]]
    extra: tuple[Decimal, Decimal]

    @classmethod
    def load(cls) -> CostTable:
        rows: dict[int, tuple[Decimal, Decimal]] = {}
        extra = (ZERO, ZERO)
        for entry in CostTableEntry.objects.all():
            if entry.per_extra_person:
                extra = (entry.income_support, entry.start_up)
            else:
                rows[entry.family_size] = (entry.income_support, entry.start_up)
        return cls(rows=rows, extra=extra)

    def for_size(self, size: int) -> tuple[Decimal, Decimal]:
        """(12-month income support, start-up) for `size` people (at least 1); beyond the
        largest row, each extra person adds the per-extra-person row."""
        if not self.rows:
            return (ZERO, ZERO)
        size = max(1, size)
        largest = max(self.rows)
        if size <= largest:
            return self.rows.get(size) or self.rows[min(s for s in self.rows if s >= size)]
        income, start_up = self.rows[largest]
        extra = size - largest
        return (income + extra * self.extra[0], start_up + extra * self.extra[1])


def monthly_amount(yearly_income: Decimal) -> Decimal:
    """The standard monthly amount: the 12-month figure / 12, to the cent."""
    return to_cent(Decimal(yearly_income) / 12)


def planned_by_month(yearly_income: Decimal, months: int, rules: KindRules) -> list[Decimal]:
    """The sponsor's planned income support for months 1..`months`: 0 in months the
    government pays; the first year's sponsor months add up exactly to their share of
    `yearly_income`, the reconciling cents in the last of them."""
    standard = monthly_amount(yearly_income)
    plan = [ZERO if n in rules.government_months else standard for n in range(1, months + 1)]
    first_year = [
        n for n in range(1, min(RECONCILING_MONTH, months) + 1) if n not in rules.government_months
    ]
    if first_year and months >= RECONCILING_MONTH:
        share = to_cent(Decimal(yearly_income) * len(first_year) / 12)
        last = first_year[-1]
        plan[last - 1] = share - standard * (len(first_year) - 1)
    return plan


@dataclass(frozen=True)
class BudgetMonth:
    number: int
    starts_on: datetime.date
    planned: Decimal
    paid: Decimal
    is_current: bool
    is_past: bool
    # The government pays this month's income support (the kind's rule): the sponsor plans 0.
    paid_by_government: bool = False

    @property
    def balance(self) -> Decimal:
        return self.planned - self.paid

    @property
    def owed(self) -> Decimal:
        return max(ZERO, self.planned - self.paid)

    @property
    def short(self) -> bool:
        return self.is_past and self.paid < self.planned


@dataclass(frozen=True)
class Budget:
    """Planned vs paid for one sponsorship on one day (`as_of`)."""

    as_of: datetime.date
    family_size: int
    yearly_income: Decimal
    monthly: Decimal
    start_up_planned: Decimal
    start_up_paid: Decimal
    months: tuple[BudgetMonth, ...]
    current_month: int | None
    kind_rules: KindRules

    @property
    def committed_months(self) -> int:
        return len(self.months)

    @property
    def income_planned(self) -> Decimal:
        return sum((m.planned for m in self.months), ZERO)

    @property
    def income_paid(self) -> Decimal:
        return sum((m.paid for m in self.months), ZERO)

    @property
    def planned_total(self) -> Decimal:
        """Everything planned: income support for every committed month and start-up."""
        return self.income_planned + self.start_up_planned

    @property
    def paid_total(self) -> Decimal:
        return self.income_paid + self.start_up_paid

    def _begun(self) -> tuple[BudgetMonth, ...]:
        return self.months[: self.current_month or 0]

    @property
    def planned_to_date(self) -> Decimal:
        """Start-up and the income support of every month begun so far (0 before arrival)."""
        if not self.current_month:
            return ZERO
        return self.start_up_planned + sum((m.planned for m in self._begun()), ZERO)

    @property
    def start_up_owed(self) -> Decimal:
        if not self.current_month:
            return ZERO
        return max(ZERO, self.start_up_planned - self.start_up_paid)

    @property
    def due_this_month(self) -> Decimal:
        """The unpaid part of the current month alone."""
        if not self.current_month:
            return ZERO
        return self.months[self.current_month - 1].owed

    @property
    def behind_by(self) -> Decimal:
        """Unpaid support of the months before the current one, and unpaid start-up."""
        earlier = self._begun()[:-1]
        return sum((m.owed for m in earlier), ZERO) + self.start_up_owed

    @property
    def owed_this_month(self) -> Decimal:
        """What the group owes the family now: every begun month's unpaid part (this month's
        included) and unpaid start-up."""
        return self.behind_by + self.due_this_month

    @property
    def ahead_by(self) -> Decimal:
        return max(ZERO, self.paid_total - self.planned_to_date)

    def planned_between(self, first: datetime.date, last: datetime.date) -> Decimal:
        """Income support planned for the months that began within [first, last]."""
        return sum((m.planned for m in self.months if first <= m.starts_on <= last), ZERO)


# --- building budgets --------------------------------------------------------------------------


def _as_of(sponsorship: Sponsorship, today: datetime.date) -> datetime.date:
    """Nothing falls due after a sponsorship ends."""
    return min(today, sponsorship.ended_on) if sponsorship.ended_on else today


def build_budget(
    sponsorship: Sponsorship,
    *,
    today: datetime.date,
    family_size: int,
    cost_table: CostTable,
    paid_rows: Iterable[dict],
    kind_rules: KindRules | None = None,
) -> Budget:
    """The budget from already-loaded facts (no query): `paid_rows` are
    {"kind", "month_number", "total"} sums of the sponsorship's disbursements."""
    rules = kind_rules or rules_for(sponsorship.kind)
    yearly_income, start_up = cost_table.for_size(family_size)
    if not rules.sponsor_owes_start_up:
        start_up = ZERO
    paid_income: dict[int, Decimal] = defaultdict(lambda: ZERO)
    start_up_paid = ZERO
    for row in paid_rows:
        if row["kind"] == Disbursement.Kind.START_UP:
            start_up_paid += row["total"]
        else:
            paid_income[row["month_number"]] += row["total"]
    as_of = _as_of(sponsorship, today)
    arrival = sponsorship.arrival_date
    period = (
        Period.of(arrival, sponsorship.extension_months, rules.base_months) if arrival else None
    )
    committed = period.committed_months if period else sponsorship.committed_months
    month = period.month_on(as_of) if period else None
    current = min(month, committed) if month else None
    planned = planned_by_month(yearly_income, committed, rules)
    months = tuple(
        BudgetMonth(
            number=n,
            starts_on=period.month_starts_on(n) if period else None,
            planned=planned[n - 1],
            paid=paid_income.get(n, ZERO),
            is_current=n == current,
            is_past=current is not None and n < current,
            paid_by_government=n in rules.government_months,
        )
        for n in range(1, committed + 1)
    )
    return Budget(
        as_of=as_of,
        family_size=family_size,
        yearly_income=Decimal(yearly_income),
        monthly=monthly_amount(yearly_income),
        start_up_planned=Decimal(start_up),
        start_up_paid=start_up_paid,
        months=months,
        current_month=current,
        kind_rules=rules,
    )


def _paid_rows(sponsorship_ids: Sequence[int]) -> dict[int, list[dict]]:
    rows = (
        Disbursement.objects.filter(sponsorship_id__in=list(sponsorship_ids))
        .values("sponsorship_id", "kind", "month_number")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_sponsorship: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_sponsorship[row["sponsorship_id"]].append(row)
    return by_sponsorship


def _family_sizes(sponsorships: Sequence[Sponsorship]) -> dict[int, int]:
    known = {s.family_id: s.member_count for s in sponsorships if hasattr(s, "member_count")}
    missing = {s.family_id for s in sponsorships} - set(known)
    if missing:
        rows = (
            HouseholdMember.objects.filter(family_id__in=missing)
            .values("family_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        known.update({row["family_id"]: row["n"] for row in rows})
    return known


def budgets_for(
    sponsorships: Sequence[Sponsorship],
    today: datetime.date | None = None,
    *,
    cost_table: CostTable | None = None,
) -> dict[int, Budget]:
    """Budgets of many sponsorships in at most three queries (cost table, family sizes,
    payment sums), whatever their number. Annotate `approved_extension_months`
    (`with_period`) and optionally `member_count` to save queries."""
    today = today or timezone.localdate()
    if not sponsorships:
        return {}
    cost_table = cost_table or CostTable.load()
    sizes = _family_sizes(sponsorships)
    paid = _paid_rows([s.pk for s in sponsorships])
    return {
        s.pk: build_budget(
            s,
            today=today,
            family_size=sizes.get(s.family_id, 0),
            cost_table=cost_table,
            paid_rows=paid.get(s.pk, []),
        )
        for s in sponsorships
    }


def budget_for(
    sponsorship: Sponsorship,
    today: datetime.date | None = None,
    *,
    cost_table: CostTable | None = None,
) -> Budget:
    """The budget of one sponsorship on `today` (four queries at most)."""
    return budgets_for([sponsorship], today, cost_table=cost_table)[sponsorship.pk]
