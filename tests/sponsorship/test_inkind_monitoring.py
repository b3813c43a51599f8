"""In-kind gifts lower the start-up line but never replace it; HanVoice's own monitoring
contacts follow a schedule kept as data and feed the at-risk panel."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sponsorship.budget import IN_KIND_MAX_SHARE, budget_for, budgets_for, start_up_in_kind_part
from sponsorship.models import (
    Disbursement,
    InKindItem,
    MonitoringContact,
    MonitoringSchedule,
    Sponsorship,
)
from sponsorship.selectors import groups_at_risk, monitoring_windows

pytestmark = pytest.mark.django_db


def _item(sponsorship, user, quantity, value, what="Winter coat"):
    return InKindItem.objects.create(
        sponsorship=sponsorship,
        description=what,
        quantity=quantity,
        estimated_value=Decimal(value),
        donated_by="St. Andrew's congregation",
        recorded_by=user,
    )


def test_in_kind_given_is_quantity_times_value_to_the_cent(sponsorship, treasurer):
    assert budget_for(sponsorship).in_kind_given == Decimal("0.00")
    _item(sponsorship, treasurer, 3, "45.50")
    _item(sponsorship, treasurer, 1, "300.01", "Sofa")
    assert budget_for(sponsorship).in_kind_given == Decimal("436.51")


def test_in_kind_lowers_but_never_replaces_start_up():
    assert Decimal("0.5") == IN_KIND_MAX_SHARE  # HanVoice's policy (docs/domain.md "Money")
    line = Decimal("4000.00")
    assert start_up_in_kind_part(line, Decimal("600")) == 600
    assert start_up_in_kind_part(line, Decimal("9000")) == 2000
    assert start_up_in_kind_part(Decimal("0"), Decimal("600")) == 0  # no start-up owed


def test_the_budget_start_up_line_has_a_cash_and_an_in_kind_part(sponsorship, treasurer):
    before = budget_for(sponsorship)
    line = before.start_up_planned
    assert (before.start_up_in_kind, before.start_up_line) == (0, line)
    _item(sponsorship, treasurer, 2, "150.00", "Bunk bed")
    after = budget_for(sponsorship)
    assert after.start_up_in_kind == Decimal("300.00")
    assert after.start_up_planned == line - 300  # the cash the group owes
    assert after.start_up_line == line
    assert after.planned_total == before.planned_total - 300
    assert after.start_up_owed == before.start_up_owed - 300
    # Far more given than half the line: half of it stays cash.
    _item(sponsorship, treasurer, 1, "99999.00", "A car")
    capped = budget_for(sponsorship)
    assert capped.start_up_in_kind == (line * IN_KIND_MAX_SHARE).quantize(Decimal("0.01"))
    assert capped.start_up_planned == line - capped.start_up_in_kind > 0
    # Cash paid for start-up still counts against the cash part only.
    Disbursement.objects.create(
        sponsorship=sponsorship, kind=Disbursement.Kind.START_UP, month_number=1,
        amount=capped.start_up_planned, paid_on=sponsorship.arrival_date, method="cash",
        recorded_by=treasurer,
    )  # fmt: skip
    assert budget_for(sponsorship).start_up_owed == 0


def test_in_kind_sums_come_with_the_payments_in_one_query(
    sponsorship, other_sponsorship, treasurer, django_assert_max_num_queries
):
    _item(sponsorship, treasurer, 2, "150.00", "Bunk bed")
    both = list(
        Sponsorship.objects.with_period().filter(pk__in=[sponsorship.pk, other_sponsorship.pk])
    )
    with django_assert_max_num_queries(3):  # cost table, family sizes, payments and in-kind
        budgets = budgets_for(both)
    assert budgets[sponsorship.pk].in_kind_given == Decimal("300.00")
    assert budgets[other_sponsorship.pk].in_kind_given == 0


def test_the_default_schedule_is_data_month_1_months_4_to_6_month_9():
    rows = list(MonitoringSchedule.objects.values_list("from_month", "to_month"))
    assert rows == [(1, 1), (4, 6), (9, 9)]


def test_windows_are_met_by_a_contact_inside_them(sponsorship, case_worker):
    # Arrived 100 days ago: month 1 is over, months 4-6 open, month 9 ahead.
    today = timezone.localdate()
    first, middle, ninth = monitoring_windows(sponsorship)
    assert first.is_overdue(today) and not middle.is_overdue(today)
    MonitoringContact.objects.create(
        sponsorship=sponsorship,
        happened_on=sponsorship.arrival_date + datetime.timedelta(days=10),
        kind=MonitoringContact.Kind.INTERPRETER,
        recorded_by=case_worker,
    )
    first, *_ = monitoring_windows(sponsorship)
    assert first.contacted_on is not None and not first.is_overdue(today)


def test_a_missed_contact_and_a_serious_concern_put_the_group_at_risk(
    sponsorship, case_worker, django_assert_max_num_queries
):
    reasons = {r.group.name: r.reasons for r in groups_at_risk()}["Maple Circle"]
    assert "HanVoice contact with the family missed" in reasons
    MonitoringContact.objects.create(
        sponsorship=sponsorship,
        happened_on=sponsorship.arrival_date + datetime.timedelta(days=5),
        kind=MonitoringContact.Kind.VISIT,
        concern_level=MonitoringContact.Concern.SERIOUS,
        concern="Fictional concern for tests.",
        share_concern_with_group=False,
        recorded_by=case_worker,
    )
    # A fixed number whatever the program's size: the overview, budgets, RAP floor and income,
    # monitoring schedule and contacts, the groups (docs/dashboard.md).
    with django_assert_max_num_queries(10):
        reasons = {r.group.name: r.reasons for r in groups_at_risk()}["Maple Circle"]
    assert "HanVoice contact with the family missed" not in reasons
    assert "serious concern at a HanVoice contact" not in reasons  # 95 days ago: not recent
    MonitoringContact.objects.create(
        sponsorship=sponsorship,
        happened_on=timezone.localdate(),
        kind=MonitoringContact.Kind.PHONE,
        concern_level=MonitoringContact.Concern.SERIOUS,
        concern="Fictional concern for tests.",
        recorded_by=case_worker,
    )
    reasons = {r.group.name: r.reasons for r in groups_at_risk()}["Maple Circle"]
    assert "serious concern at a HanVoice contact" in reasons


def test_a_concern_must_be_described(sponsorship, case_worker):
    contact = MonitoringContact(
        sponsorship=sponsorship,
        happened_on=timezone.localdate(),
        kind=MonitoringContact.Kind.PHONE,
        concern_level=MonitoringContact.Concern.CONCERN,
        recorded_by=case_worker,
    )
    with pytest.raises(ValidationError, match="Describe the concern"):
        contact.full_clean()


def test_the_group_sees_in_kind_on_income_support_and_only_shared_concerns(
    client, sponsorship, treasurer, case_worker
):
    _item(sponsorship, treasurer, 2, "150.00", "Bunk bed")
    for shared, words in ((True, "Fictional shared worry"), (False, "Fictional private worry")):
        MonitoringContact.objects.create(
            sponsorship=sponsorship,
            happened_on=timezone.localdate(),
            kind=MonitoringContact.Kind.VISIT,
            summary="Fictional summary for staff only",
            concern_level=MonitoringContact.Concern.CONCERN,
            concern=words,
            share_concern_with_group=shared,
            recorded_by=case_worker,
        )
    client.force_login(treasurer)
    money = client.get(f"/portal/{sponsorship.public_id}/income-support/").content.decode()
    assert "Bunk bed" in money and "$300.00" in money and "Start-up in kind" in money
    page = client.get(f"/portal/{sponsorship.public_id}/check-ins/").content.decode()
    assert "Fictional shared worry" in page
    assert "Fictional private worry" not in page
    assert "Fictional summary for staff only" not in page
