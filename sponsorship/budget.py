"""One budget for a sponsorship on a day: the one home of every income-support figure
(docs/domain.md "Money"). The staff admin, the portal, the group report, the staff
dashboard, reminder e-mails and the disbursement check all read a `Budget`.

The plan comes from the RSTP Sponsorship Cost Table (a planning estimate, kept as data):
the family's size gives a 12-month income-support amount and a one-time start-up amount.
Each month is planned at the 12-month amount / 12 rounded to the cent; the last sponsor-paid
month of the first year takes the reconciling cents, so the first year adds up exactly to
the table's figure (19,700 for two people: eleven months of 1,641.67 and month 12 of
1,641.63). Extension months are planned at the rounded monthly amount.

Start-up in kind: goods given instead of money (`InKindItem`: furniture, a bed, winter coats)
lower the start-up cash the group owes but never replace it. Of the cost table's start-up
line, the in-kind part is the estimated value of everything given, capped at
`IN_KIND_MAX_SHARE` of the line (HanVoice's policy, docs/domain.md "Money"); the rest is
the cash part, which is what the group plans to pay (`start_up_planned`) and what is owed.

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

from django.db.models import CharField, Count, DecimalField, F, IntegerField, Sum, Value
from django.utils import timezone

from families.models import HouseholdMember
from sponsorship.kinds import KindRules, rules_for
from sponsorship.models import MONEY, CostTableEntry, Disbursement, InKindItem, Sponsorship
from sponsorship.period import BASE_SUPPORT_MONTHS, Period

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The month of the first year whose plan absorbs the rounding (the last one the sponsor pays).
RECONCILING_MONTH = BASE_SUPPORT_MONTHS
# In-kind gifts may stand for at most this share of the start-up line: the family always gets
# at least half of it in cash, to choose for themselves and for what goods cannot pay (deposits,
# first groceries, utility hook-ups). HanVoice's policy, not IRCC's (docs/domain.md "Money").
IN_KIND_MAX_SHARE = Decimal("0.5")
# How the in-kind sum travels with the payment sums (`_paid_rows`).
IN_KIND = "in_kind"


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
            elif entry.family_size is not None:  # a constraint: every other row has a size
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


def start_up_in_kind_part(start_up: Decimal, in_kind_given: Decimal) -> Decimal:
    """The part of the start-up line that in-kind gifts stand for: all of it up to
    `IN_KIND_MAX_SHARE` of the line, never more (they lower start-up but never replace it)."""
    cap = to_cent(Decimal(start_up) * IN_KIND_MAX_SHARE)
    return min(to_cent(in_kind_given), cap)


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
    starts_on: datetime.date | None  # None before arrival: the months are planned, not dated
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
    # The start-up line: the cost table's amount (`start_up_line`), of which `start_up_in_kind`
    # is given as goods and `start_up_planned` in cash (what is paid, planned and owed).
    start_up_planned: Decimal
    start_up_paid: Decimal
    months: tuple[BudgetMonth, ...]
    current_month: int | None
    kind_rules: KindRules
    start_up_in_kind: Decimal = ZERO
    # The estimated value of every in-kind gift, counted toward start-up or not.
    in_kind_given: Decimal = ZERO

    @property
    def start_up_line(self) -> Decimal:
        """The cost table's start-up amount: the cash part and the in-kind part together."""
        return self.start_up_planned + self.start_up_in_kind

    @property
    def in_kind_max_percent(self) -> int:
        """`IN_KIND_MAX_SHARE` as pages say it (50)."""
        return int(IN_KIND_MAX_SHARE * 100)

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
        return sum(
            (m.planned for m in self.months if m.starts_on and first <= m.starts_on <= last),
            ZERO,
        )


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
    start_up_paid = in_kind_given = ZERO
    for row in paid_rows:
        if row["kind"] == IN_KIND:
            in_kind_given += row["total"]
        elif row["kind"] == Disbursement.Kind.START_UP:
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
    in_kind_part = start_up_in_kind_part(start_up, in_kind_given)
    return Budget(
        as_of=as_of,
        family_size=family_size,
        yearly_income=Decimal(yearly_income),
        monthly=monthly_amount(yearly_income),
        start_up_planned=Decimal(start_up) - in_kind_part,
        start_up_paid=start_up_paid,
        months=months,
        current_month=current,
        kind_rules=rules,
        start_up_in_kind=in_kind_part,
        in_kind_given=to_cent(in_kind_given),
    )


def _paid_rows(sponsorship_ids: Sequence[int]) -> dict[int, list[dict]]:
    """Payment sums by (kind, month) and the in-kind sum (kind `IN_KIND`), in one query."""
    ids = list(sponsorship_ids)
    payments = (
        Disbursement.objects.filter(sponsorship_id__in=ids)
        .values("sponsorship_id", "kind", "month_number")
        .annotate(total=Sum("amount"))
        .values_list("sponsorship_id", "kind", "month_number", "total")
        .order_by()
    )
    in_kind = (
        InKindItem.objects.filter(sponsorship_id__in=ids)
        .values("sponsorship_id")
        .annotate(
            row_kind=Value(IN_KIND, output_field=CharField()),
            row_month=Value(0, output_field=IntegerField()),
            total=Sum(F("quantity") * F("estimated_value"), output_field=DecimalField(**MONEY)),
        )
        .values_list("sponsorship_id", "row_kind", "row_month", "total")
        .order_by()
    )
    by_sponsorship: dict[int, list[dict]] = defaultdict(list)
    for sid, kind, month, total in payments.union(in_kind, all=True):
        by_sponsorship[sid].append({"kind": kind, "month_number": month, "total": Decimal(total)})
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
    payment and in-kind sums), whatever their number. Annotate `approved_extension_months`
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
