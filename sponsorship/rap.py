"""Reads for the legal floor of income support and the family's own income.

After arrival the least a family may receive each month is the Resettlement Assistance
Program (RAP) rate of its community of settlement for its household size (docs/domain.md
"The RAP floor"). The rates are data staff keep (`RapRate`). A sponsor-paid month planned or
paid below the floor is flagged to staff: on the sponsorship's admin page and on the
dashboard's at-risk panel. Income the family earns may allow a reduction of support (only
once net employment income exceeds 50% of the month's support, never because of the Canada
Child Benefit); in a reduced month the floor is compared with support plus that employment
income.

Everything here works on already-loaded rows, so lists of many sponsorships stay at a fixed
number of queries: `RapTable.load` (one), `family_income` and `reductions` (one each).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum

from sponsorship.models import FamilyIncome, RapRate, SupportReduction

ZERO = Decimal("0.00")
# Support may be reduced only once net employment income exceeds this share of it.
EMPLOYMENT_SHARE = Decimal("0.5")


@dataclass(frozen=True)
class RapTable:
    """The RAP rates of some communities, loaded once: community (lower case) → rows of
    (household size, from, until, monthly amount)."""

    rows: dict[str, list[tuple[int, datetime.date, datetime.date | None, Decimal]]]

    @classmethod
    def load(cls, communities: Iterable[str] | None = None) -> RapTable:
        wanted = {c.strip().lower() for c in communities or () if c and c.strip()}
        rates = RapRate.objects.all()
        if communities is not None:
            if not wanted:
                return cls(rows={})
            match = Q()
            for community in wanted:
                match |= Q(community__iexact=community)
            rates = rates.filter(match)
        rows: dict[str, list[tuple[int, datetime.date, datetime.date | None, Decimal]]] = (
            defaultdict(list)
        )
        for rate in rates.values_list(
            "community", "household_size", "effective_from", "effective_to", "monthly_amount"
        ):
            rows[rate[0].strip().lower()].append(rate[1:])
        return cls(rows=dict(rows))

    def floor(self, community: str, household_size: int, on: datetime.date) -> Decimal | None:
        """The rate in force on `on` for `household_size` people (else the largest size
        below it); None when staff entered none for the community."""
        best: tuple[int, datetime.date, Decimal] | None = None
        for size, start, end, amount in self.rows.get((community or "").strip().lower(), []):
            if size > max(1, household_size) or start > on or (end is not None and end < on):
                continue
            if best is None or (size, start) > (best[0], best[1]):
                best = (size, start, amount)
        return best[2] if best else None


@dataclass
class IncomeMonth:
    """The family's own income in one support month."""

    employment: Decimal = ZERO
    ccb: Decimal = ZERO
    other: Decimal = ZERO
    by_member: dict[int, Decimal] = field(default_factory=dict)

    @property
    def own_income(self) -> Decimal:
        """What counts toward self-sufficiency: employment and benefits other than the CCB."""
        return self.employment + self.other


def family_income(sponsorship_ids: Sequence[int]) -> dict[int, dict[int, IncomeMonth]]:
    """sponsorship id → support month → the family's income (one query)."""
    result: dict[int, dict[int, IncomeMonth]] = defaultdict(dict)
    rows = (
        FamilyIncome.objects.filter(sponsorship_id__in=list(sponsorship_ids))
        .values("sponsorship_id", "month_number", "kind", "member_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        month = result[row["sponsorship_id"]].setdefault(row["month_number"], IncomeMonth())
        if row["kind"] == FamilyIncome.Kind.EMPLOYMENT:
            month.employment += row["total"]
            member = row["member_id"]
            month.by_member[member] = month.by_member.get(member, ZERO) + row["total"]
        elif row["kind"] == FamilyIncome.Kind.CCB:
            month.ccb += row["total"]
        else:
            month.other += row["total"]
    return dict(result)


def reductions(sponsorship_ids: Sequence[int]) -> dict[int, dict[int, Decimal]]:
    """sponsorship id → support month → the agreed reduction of support (one query)."""
    result: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for sponsorship_id, month, amount in SupportReduction.objects.filter(
        sponsorship_id__in=list(sponsorship_ids)
    ).values_list("sponsorship_id", "month_number", "amount"):
        result[sponsorship_id][month] = amount
    return dict(result)


def reduction_allowed(support: Decimal, income: IncomeMonth | None) -> bool:
    """Net employment income above 50% of the month's support (the CCB never counts)."""
    employment = income.employment if income else ZERO
    return support > 0 and employment > support * EMPLOYMENT_SHARE


@dataclass(frozen=True)
class MonthLike:
    """What the floor check needs of a budget month (any budget's month has these)."""

    number: int
    starts_on: datetime.date | None
    planned: Decimal
    paid: Decimal
    is_past: bool


@dataclass(frozen=True)
class FloorFlag:
    month: int
    what: str  # "planned" or "paid"
    amount: Decimal
    floor: Decimal

    @property
    def short_by(self) -> Decimal:
        return self.floor - self.amount


def floor_flags(
    months: Iterable[MonthLike],
    *,
    community: str,
    family_size: int,
    government_months: frozenset[int],
    table: RapTable,
    income: dict[int, IncomeMonth] | None = None,
    reduced: dict[int, Decimal] | None = None,
) -> list[FloorFlag]:
    """Sponsor-paid months planned below the RAP floor, and past ones paid below it. In a
    month with an agreed reduction the family's employment income counts with the support
    (that is what allowed the reduction)."""
    income = income or {}
    reduced = reduced or {}
    flags: list[FloorFlag] = []
    for month in months:
        if month.number in government_months or month.starts_on is None:
            continue
        floor = table.floor(community, family_size, month.starts_on)
        if floor is None:
            continue
        cut = reduced.get(month.number, ZERO)
        earned = income[month.number].employment if cut and month.number in income else ZERO
        planned = month.planned - cut + earned
        if planned < floor:
            flags.append(FloorFlag(month.number, "planned", planned, floor))
        elif month.is_past and month.paid + earned < floor:
            flags.append(FloorFlag(month.number, "paid", month.paid + earned, floor))
    return flags


def months_like(budget) -> list[MonthLike]:
    """The months of a budget as the floor check reads them (number, first day, planned,
    paid, past)."""
    current = getattr(budget, "current_month", None)
    result = []
    for m in budget.months:
        number = getattr(m, "number", None) or m.month
        is_past = getattr(m, "is_past", None)
        if is_past is None:
            is_past = current is not None and number < current
        result.append(MonthLike(number, m.starts_on, m.planned, m.paid, is_past))
    return result


def sponsorship_floor_flags(sponsorship, budget, table: RapTable | None = None) -> list[FloorFlag]:
    """The RAP-floor flags of one sponsorship (three queries with the table)."""
    community = sponsorship.family.community
    table = table or RapTable.load([community])
    return floor_flags(
        months_like(budget),
        community=community,
        family_size=budget.family_size,
        government_months=sponsorship.kind_rules.government_months,
        table=table,
        income=family_income([sponsorship.pk]).get(sponsorship.pk, {}),
        reduced=reductions([sponsorship.pk]).get(sponsorship.pk, {}),
    )
