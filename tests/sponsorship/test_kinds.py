"""Sponsorship kinds as data: each kind's period, the months the government pays, start-up, and
the payments a group may record."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.dates import add_months, shown
from families.models import HouseholdMember
from sponsorship import portal_services
from sponsorship.budget import budget_for
from sponsorship.kinds import KINDS, PRIVATE, rules_for
from sponsorship.models import Disbursement, Sponsorship
from sponsorship.reminders import reminder_sweep
from tests.factories import HouseholdMemberFactory, SponsorGroupFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

K = Sponsorship.Kind


def _arrived(group, kind: str, days_ago: int = 100) -> Sponsorship:
    arrival = timezone.localdate() - datetime.timedelta(days=days_ago)
    return SponsorshipFactory(group=group, kind=kind, arrival_date=arrival, matched_on=arrival)


def test_every_kind_has_its_rules():
    assert rules_for(K.PSR) is PRIVATE
    assert (PRIVATE.base_months, PRIVATE.government_months, PRIVATE.sponsor_owes_start_up) == (
        12,
        frozenset(),
        True,
    )
    bvor, jas = rules_for(K.BVOR), rules_for(K.JAS)
    assert (bvor.base_months, bvor.government_months_text, bvor.sponsor_owes_start_up) == (
        12,
        "2-7",
        True,
    )
    assert (jas.base_months, jas.sponsor_owes_start_up) == (24, False)
    assert all(jas.government_pays_income(n) for n in range(1, 37))
    assert set(KINDS) <= set(K.values)


@pytest.mark.parametrize(
    ("group_kind", "kind", "months"),
    [
        ("group_of_five", K.PSR, 12),
        ("constituent", K.PSR, 12),
        ("community", K.PSR, 12),
        ("constituent", K.BVOR, 12),
        ("community", K.JAS, 24),
    ],
)
def test_the_support_period_follows_the_kind(group_kind, kind, months):
    s = _arrived(SponsorGroupFactory(kind=group_kind), kind)
    assert s.committed_months == months
    assert s.month_13_on == add_months(s.arrival_date, months)


def _pay(s: Sponsorship, user, month: int, kind: str = Disbursement.Kind.INCOME_SUPPORT):
    return portal_services.disbursement_record(
        sponsorship=s,
        user=user,
        kind=kind,
        month_number=month,
        amount=Decimal("1000.00"),
        paid_on=timezone.localdate(),
        method=Disbursement.Method.ETRANSFER,
    )


@pytest.mark.parametrize("month", [2, 4, 7])
def test_a_bvor_sponsor_payment_for_a_government_month_is_refused_with_the_reason(
    group, treasurer, month
):
    s = _arrived(group, K.BVOR, days_ago=250)  # month 9
    with pytest.raises(ValidationError) as refused:
        _pay(s, treasurer, month)
    message = refused.value.message_dict["month_number"][0]
    assert f"the government pays the income support of month {month} (months 2-7)" in message
    assert not Disbursement.objects.exists()


def test_a_bvor_sponsor_pays_month_1_months_8_to_12_and_start_up(group, treasurer):
    s = _arrived(group, K.BVOR, days_ago=250)
    for month in (1, 8, 9):
        _pay(s, treasurer, month)
    _pay(s, treasurer, 1, Disbursement.Kind.START_UP)
    assert Disbursement.objects.count() == 4


def test_a_jas_sponsor_records_no_income_support_nor_start_up(group, treasurer):
    s = _arrived(group, K.JAS)
    with pytest.raises(ValidationError, match="government pays the income support of month 1"):
        _pay(s, treasurer, 1)
    with pytest.raises(ValidationError) as refused:
        _pay(s, treasurer, 1, Disbursement.Kind.START_UP)
    assert "government pays the start-up costs" in refused.value.message_dict["kind"][0]
    assert not Disbursement.objects.exists()


def test_the_admin_refuses_a_government_month_next_to_the_field(client, case_worker, group):
    s = _arrived(group, K.BVOR)
    d = Disbursement(
        sponsorship=s,
        month_number=3,
        amount=Decimal("100.00"),
        paid_on=timezone.localdate(),
        method=Disbursement.Method.CASH,
        recorded_by=case_worker,
    )
    with pytest.raises(ValidationError) as refused:
        d.full_clean()
    assert "months 2-7" in refused.value.message_dict["month_number"][0]


def test_the_portal_form_shows_the_refusal_next_to_the_month(client, group, treasurer):
    s = _arrived(group, K.BVOR, days_ago=100)  # month 4
    client.force_login(treasurer)
    page = client.get(reverse("portal:disbursement-create", args=[s.public_id]))
    token = page.context["form"].initial["request_token"]
    response = client.post(
        reverse("portal:disbursement-create", args=[s.public_id]),
        {
            "request_token": token,
            "kind": "income",
            "month_number": 4,
            "amount": "900.00",
            "paid_on": timezone.localdate().isoformat(),
            "method": "cash",
        },
    )
    assert response.status_code == 200
    assert "the government pays the income support of month 4" in response.content.decode()
    assert not Disbursement.objects.exists()


def test_month_13_reminders_follow_the_kind(group, coordinator):
    """A JAS family 12 months in gets no month-13 reminder: its period runs 24 months."""
    today = timezone.localdate()
    jas = SponsorshipFactory(
        group=group,
        kind=K.JAS,
        arrival_date=add_months(today, -12),
        matched_on=add_months(today, -13),
    )
    psr = SponsorshipFactory(
        group=group,
        arrival_date=add_months(today, -12),
        matched_on=add_months(today, -13),
    )
    reminder_sweep(today=today)
    assert psr.reminders.filter(kind="month_13").exists()
    assert not jas.reminders.filter(kind="month_13").exists()
    reminder_sweep(today=add_months(jas.arrival_date, 24))
    assert jas.reminders.filter(kind="month_13").exists()


# --- the budget follows the kind ---------------------------------------------------------------


def _budget(kind: str, group, size: int = 2, days_ago: int = 100):
    s = _arrived(group, kind, days_ago=days_ago)
    for _ in range(size - 1):
        HouseholdMemberFactory(family=s.family)
    return s, budget_for(s)


def test_a_psr_budget_plans_every_month_and_start_up_to_the_cent(group):
    _s, b = _budget(K.PSR, group, size=4)
    planned = [m.planned for m in b.months]
    assert planned[:11] == [Decimal("1766.67")] * 11 and planned[11] == Decimal("1766.63")
    assert sum(planned) == Decimal("21200.00") and b.start_up_planned == Decimal("7500")
    assert b.planned_total == Decimal("28700.00")


def test_a_bvor_budget_plans_nothing_in_months_2_to_7(group):
    _s, b = _budget(K.BVOR, group, size=2)
    assert [m.number for m in b.months if m.paid_by_government] == [2, 3, 4, 5, 6, 7]
    assert all(m.planned == 0 for m in b.months if m.paid_by_government)
    # Six sponsor months: half the 12-month amount, to the cent, reconciled in month 12.
    assert sum(m.planned for m in b.months) == Decimal("9850.00")
    assert b.start_up_planned == Decimal("5100")
    # Day 100 is month 4: only month 1 and start-up are owed so far.
    assert b.planned_to_date == Decimal("5100") + Decimal("1641.67")


def test_a_jas_budget_has_24_months_no_sponsor_income_and_no_start_up(group):
    _s, b = _budget(K.JAS, group, size=3)
    assert len(b.months) == 24
    assert all(m.planned == 0 and m.paid_by_government for m in b.months)
    assert (b.start_up_planned, b.planned_total, b.owed_this_month) == (0, 0, 0)


def test_the_portal_and_the_admin_show_the_government_months(client, group, treasurer, case_worker):
    s, _b = _budget(K.BVOR, group, size=2)
    s.family.case_worker = case_worker  # staff see the case files they work on
    s.family.save(update_fields=["case_worker"])
    client.force_login(treasurer)
    html = client.get(reverse("portal:income-support", args=[s.public_id])).content.decode()
    assert "the government pays the family's income support in months 2-7" in html
    assert html.count("paid by the government") == 6
    client.force_login(case_worker)
    admin = client.get(reverse("admin:sponsorship_sponsorship_change", args=[s.pk]))
    assert "Paid by the government" in admin.content.decode()
    assert "income support in months 2-7 (IRCC BVOR program" in admin.content.decode()


# --- the One-Year Window across 29 February ----------------------------------------------------


@pytest.mark.parametrize(
    ("arrival", "closes"),
    [
        (datetime.date(2024, 2, 29), datetime.date(2025, 2, 28)),
        (datetime.date(2023, 3, 1), datetime.date(2024, 3, 1)),  # not 29 Feb 2024 (365 days)
        (datetime.date(2024, 3, 1), datetime.date(2025, 3, 1)),
    ],
)
def test_the_one_year_window_closes_on_the_same_day_in_the_plan_and_the_member_check(
    group, arrival, closes
):
    s = SponsorshipFactory(group=group, arrival_date=arrival, matched_on=arrival)
    HouseholdMember.objects.filter(family=s.family, is_principal_applicant=True).update(
        arrived_on=arrival
    )
    milestone = s.milestones.get(title__startswith="One-Year Window closes")
    assert milestone.due_on == closes
    on_the_day = HouseholdMemberFactory.build(family=s.family, arrived_on=closes)
    on_the_day.full_clean()  # within the window
    late = HouseholdMemberFactory.build(
        family=s.family, arrived_on=closes + datetime.timedelta(days=1)
    )
    with pytest.raises(ValidationError) as refused:
        late.full_clean()
    assert f"closed on {shown(closes)}" in refused.value.message_dict["arrived_on"][0]
