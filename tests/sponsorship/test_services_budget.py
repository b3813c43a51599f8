"""Selectors: budget (cost table as data), overdue by group, groups at risk, program numbers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from sponsorship.budget import CostTable, budget_for, planned_by_month
from sponsorship.kinds import PRIVATE
from sponsorship.models import CostTableEntry, Disbursement
from sponsorship.selectors import (
    groups_at_risk,
    months_of_support_delivered,
    overdue_by_group,
    sponsorships_overview,
)
from tests.factories import HouseholdMemberFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db


def _pay(s, user, month, amount, kind=Disbursement.Kind.INCOME_SUPPORT):
    Disbursement.objects.create(
        sponsorship=s,
        kind=kind,
        month_number=month,
        amount=Decimal(amount),
        paid_on=timezone.localdate(),
        method="cash",
        recorded_by=user,
    )


def test_the_cost_table_is_data_with_a_row_per_extra_person():
    table = CostTable.load()
    assert table.for_size(1) == (Decimal("13200"), Decimal("3300"))
    assert table.for_size(8) == (Decimal("25700") + 2 * 1600, Decimal("9800") + 2 * 1100)
    CostTableEntry.objects.filter(family_size=1).update(income_support=Decimal("14400"))
    assert CostTable.load().for_size(1)[0] == Decimal("14400")


def test_budget_shows_planned_vs_paid_and_what_is_owed(sponsorship, treasurer):
    HouseholdMemberFactory(family=sponsorship.family)  # two people
    _pay(sponsorship, treasurer, 1, "1641.67")
    _pay(sponsorship, treasurer, 2, "1641.67")
    _pay(sponsorship, treasurer, 1, "5100", kind=Disbursement.Kind.START_UP)
    b = budget_for(sponsorship)
    assert b.family_size == 2
    assert b.monthly == Decimal("1641.67")  # 19,700 / 12
    assert b.start_up_planned == Decimal("5100") and b.start_up_paid == Decimal("5100")
    assert b.current_month == 4
    assert b.income_paid == Decimal("3283.34")
    assert b.behind_by == Decimal("1641.67")  # month 3 unpaid
    assert b.due_this_month == Decimal("1641.67")  # month 4 unpaid
    # Owed now: month 3 (still owed: a missed month does not lapse) and month 4.
    assert b.owed_this_month == Decimal("3283.34")
    assert b.planned_to_date == Decimal("5100") + 4 * Decimal("1641.67")
    assert len(b.months) == 12
    # The first year adds up to the cost table's figure: month 12 takes the reconciling cents.
    assert b.income_planned == Decimal("19700.00")
    assert b.months[11].planned == Decimal("1641.63")
    assert b.planned_total == Decimal("24800.00")


@pytest.mark.parametrize("yearly", ["13200", "19700", "20400", "21200", "23700", "25700", "0.05"])
@pytest.mark.parametrize("months", [12, 13, 24, 36])
def test_the_monthly_plan_adds_up_to_the_yearly_figure_to_the_cent(yearly, months):
    plan = planned_by_month(Decimal(yearly), months, PRIVATE)
    assert sum(plan[:12]) == Decimal(yearly)
    assert all(m == plan[0] for m in plan[:11] + plan[12:])
    assert len(plan) == months


def test_budget_needs_few_queries(sponsorship, treasurer, django_assert_max_num_queries):
    for month in range(1, 4):
        _pay(sponsorship, treasurer, month, "100")
    with django_assert_max_num_queries(4):
        budget_for(sponsorship)


def test_overdue_by_group_and_groups_at_risk(sponsorship, other_sponsorship):
    overdue = {g.name: (g.overdue_milestones, g.overdue_reviews) for g in overdue_by_group()}
    # Arrived 100 days ago, nothing done: milestones and the month-3 review are overdue.
    assert overdue["Maple Circle"][0] > 5 and overdue["Maple Circle"][1] == 1
    risks = {r.group.name: r.reasons for r in groups_at_risk()}
    assert any("overdue" in reason for reason in risks["Maple Circle"])
    assert "no check-in for 30 days" in risks["Maple Circle"]
    assert "income support behind plan" in risks["Maple Circle"]


def test_overview_query_count_does_not_grow(django_assert_num_queries):
    arrival = timezone.localdate() - datetime.timedelta(days=50)
    SponsorshipFactory(arrival_date=arrival, matched_on=arrival)
    with django_assert_num_queries(1):
        rows = list(sponsorships_overview())
        [r.family.case_code + r.group.name + str(r.committed_months) for r in rows]
    for _ in range(4):
        SponsorshipFactory(arrival_date=arrival, matched_on=arrival)
    with django_assert_num_queries(1):
        rows = list(sponsorships_overview())
        [r.family.case_code + r.group.name + str(r.committed_months) for r in rows]
    assert len(rows) == 5


def test_months_of_support_delivered(sponsorship):
    assert months_of_support_delivered() == 4
