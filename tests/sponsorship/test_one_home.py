"""The one home of each rule: the One-Year Window milestone, the kinds' hook into the
budget, and the scopes that decide who sees which sponsorship."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from families.models import Family, one_year_window_closes
from sponsorship import access
from sponsorship.budget import CostTable, build_budget, planned_by_month
from sponsorship.kinds import KindRules
from sponsorship.models import Membership, Milestone, MilestoneTemplate, Reminder
from sponsorship.portal_selectors import inbox_for
from sponsorship.reminders import why_not_relevant
from tests.factories import SponsorshipFactory

pytestmark = pytest.mark.django_db
D = datetime.date
WINDOW = "One-Year Window closes for non-accompanying family"


@pytest.mark.parametrize(
    ("arrival", "closes"),
    [
        (D(2024, 2, 29), D(2025, 2, 28)),  # no 29 February next year: the last day of February
        (D(2023, 3, 1), D(2024, 3, 1)),  # 365 days later would be 29 February 2024
        (D(2025, 1, 31), D(2026, 1, 31)),
    ],
)
def test_the_window_milestone_and_the_member_check_close_on_the_same_day(arrival, closes):
    assert one_year_window_closes(arrival) == closes
    assert MilestoneTemplate.objects.get(title=WINDOW).due_at_one_year_window
    s = SponsorshipFactory(arrival_date=arrival, matched_on=arrival, family__vetted_on=arrival)
    assert Milestone.objects.get(sponsorship=s, title=WINDOW).due_on == closes


def test_a_kind_plugs_its_government_months_and_start_up_into_the_budget(sponsorship):
    bvor = KindRules(government_months=frozenset(range(2, 8)), sponsor_owes_start_up=False)
    plan = planned_by_month(Decimal("19700"), 12, bvor)
    assert plan[1:7] == [Decimal("0.00")] * 6
    # The sponsor's six months add up to half the year, the reconciling cents in month 12.
    assert sum(plan) == Decimal("9850.00") and plan[11] == Decimal("1641.65")
    budget = build_budget(
        sponsorship,
        today=timezone.localdate(),
        family_size=2,
        cost_table=CostTable.load(),
        paid_rows=[],
        kind_rules=bvor,
    )
    assert budget.start_up_planned == 0
    assert budget.owed_this_month == Decimal(
        "1641.67"
    )  # month 1 only; months 2-4 are the government's


def test_a_member_who_leaves_the_group_no_longer_sees_its_reminders(member, sponsorship):
    reminder = Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_DUE,
        subject_key="milestone:1",
        due_on=timezone.localdate(),
        recipient=member,
        group=sponsorship.group,
        sponsorship=sponsorship,
    )
    assert [i.key for i in inbox_for(member)] == [f"reminder:{reminder.pk}"]
    Membership.objects.filter(user=member).delete()
    assert inbox_for(member) == []
    assert access.sponsorships_visible_to(member).count() == 0
    assert why_not_relevant(reminder, timezone.localdate()).startswith("Recipient")


def test_the_staff_scope_hook_narrows_every_staff_list(
    client, case_worker, sponsorship, other_sponsorship
):
    client.force_login(case_worker)
    assert set(access.sponsorships_visible_to(case_worker, side=access.STAFF)) == {
        sponsorship,
        other_sponsorship,
    }
    own = Family.objects.filter(case_worker=case_worker)
    with mock.patch.object(access, "staff_families", return_value=own):
        seen = set(access.sponsorships_visible_to(case_worker, side=access.STAFF))
        milestones = access.milestones_visible_to(case_worker, side=access.STAFF)
        page = client.get("/admin/sponsorship/sponsorship/").content.decode()
        other = client.get(f"/admin/sponsorship/sponsorship/{other_sponsorship.pk}/change/")
    assert seen == {sponsorship}
    assert set(milestones.values_list("sponsorship", flat=True)) == {sponsorship.pk}
    assert sponsorship.family.case_code in page
    assert other_sponsorship.family.case_code not in page
    assert other.status_code == 302  # the admin's "no such record"


def test_outsiders_and_staff_see_no_sponsorship_in_the_portal(
    client, other_member, program_manager, sponsorship
):
    for user in (other_member, program_manager):
        assert not access.sponsorships_visible_to(user).exists()
        assert not access.milestones_visible_to(user).exists()
        client.force_login(user)
        assert client.get(f"/portal/{sponsorship.public_id}/").status_code == 404
