"""The RAP floor as staff-editable data, the family's own income, and the 50% / CCB rules for
a reduction of support."""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sponsorship import services
from sponsorship.models import FamilyIncome, RapRate, SupportReduction
from sponsorship.rap import MonthLike, RapTable, floor_flags
from sponsorship.selectors import groups_at_risk
from tests.factories import HouseholdMemberFactory

pytestmark = pytest.mark.django_db

D = Decimal
EMPLOYMENT = FamilyIncome.Kind.EMPLOYMENT
CCB = FamilyIncome.Kind.CCB


def _rate(**kwargs) -> RapRate:
    rate = RapRate(
        **{
            "community": "Toronto",
            "household_size": 1,
            "monthly_amount": D("1000.00"),
            "effective_from": datetime.date(2025, 1, 1),
        }
        | kwargs
    )
    rate.full_clean()
    rate.save()
    return rate


# --- the RAP rates -----------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [D("0"), D("-5.00")])
def test_a_rap_rate_of_zero_or_less_is_refused_next_to_the_field(amount):
    with pytest.raises(ValidationError) as refused:
        _rate(monthly_amount=amount)
    assert "must be more than $0" in refused.value.message_dict["monthly_amount"][0]
    assert not RapRate.objects.exists()


def test_the_admin_refuses_a_zero_rate_next_to_the_field(client, program_manager):
    client.force_login(program_manager)
    response = client.post(
        reverse("admin:sponsorship_raprate_add"),
        {
            "community": "Toronto",
            "household_size": 2,
            "monthly_amount": "0",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 200
    assert "must be more than $0" in response.content.decode()
    assert not RapRate.objects.exists()


def test_the_floor_is_the_rate_in_force_for_the_size_or_the_largest_below():
    _rate(household_size=1, monthly_amount=D("900.00"))
    _rate(household_size=3, monthly_amount=D("1500.00"))
    _rate(
        household_size=3,
        monthly_amount=D("1600.00"),
        effective_from=datetime.date(2026, 4, 1),
    )
    table = RapTable.load(["toronto"])
    assert table.floor("Toronto", 2, datetime.date(2026, 1, 5)) == D("900.00")
    assert table.floor("Toronto", 5, datetime.date(2026, 1, 5)) == D("1500.00")
    assert table.floor("Toronto ", 3, datetime.date(2026, 4, 1)) == D("1600.00")
    assert table.floor("Ottawa", 3, datetime.date(2026, 4, 1)) is None


def test_months_planned_or_paid_below_the_floor_are_flagged_not_government_ones():
    _rate(household_size=2, monthly_amount=D("1700.00"))
    months = [
        MonthLike(1, datetime.date(2026, 1, 10), D("1641.67"), D("1641.67"), True),
        MonthLike(2, datetime.date(2026, 2, 10), D("0.00"), D("0.00"), True),
        MonthLike(3, datetime.date(2026, 3, 10), D("1800.00"), D("1200.00"), True),
        MonthLike(4, datetime.date(2026, 4, 10), D("1800.00"), D("0.00"), False),
    ]
    flags = floor_flags(
        months,
        community="Toronto",
        family_size=2,
        government_months=frozenset({2}),
        table=RapTable.load(),
    )
    assert [(f.month, f.what, f.short_by) for f in flags] == [
        (1, "planned", D("58.33")),
        (3, "paid", D("500.00")),
    ]


# --- the family's income and the 50% rule -------------------------------------------------------


@pytest.fixture
def adult(sponsorship):
    return HouseholdMemberFactory(
        family=sponsorship.family, relationship="spouse", date_of_birth=datetime.date(1990, 1, 1)
    )


def _support(sponsorship, month: int) -> Decimal:
    return services.month_support(sponsorship, month)


def test_income_in_a_month_outside_the_sponsorship_is_refused(sponsorship, adult, case_worker):
    with pytest.raises(ValidationError) as refused:
        services.family_income_record(
            sponsorship=sponsorship,
            month_number=13,
            kind=EMPLOYMENT,
            member=adult,
            amount=D("800.00"),
            recorded_by=case_worker,
        )
    assert "outside the sponsorship" in refused.value.message_dict["month_number"][0]
    assert not FamilyIncome.objects.exists()


def test_employment_income_is_recorded_by_member_and_corrected_in_place(
    sponsorship, adult, treasurer
):
    with pytest.raises(ValidationError) as refused:
        services.family_income_record(
            sponsorship=sponsorship,
            month_number=2,
            kind=EMPLOYMENT,
            amount=D("800.00"),
            recorded_by=treasurer,
        )
    assert "member" in refused.value.message_dict
    for amount in ("800.00", "850.00"):
        services.family_income_record(
            sponsorship=sponsorship,
            month_number=2,
            kind=EMPLOYMENT,
            member=adult,
            amount=D(amount),
            recorded_by=treasurer,
        )
    assert list(FamilyIncome.objects.values_list("amount", flat=True)) == [D("850.00")]


def test_a_member_of_the_group_who_is_not_treasurer_cannot_record_income(
    sponsorship, adult, member
):
    with pytest.raises(ValidationError, match="treasurer or HanVoice staff"):
        services.family_income_record(
            sponsorship=sponsorship,
            month_number=2,
            kind=CCB,
            amount=D("300.00"),
            recorded_by=member,
        )


def test_a_reduction_needs_employment_income_above_half_the_month_support(
    sponsorship, adult, case_worker
):
    support = _support(sponsorship, 3)
    half = (support / 2).quantize(D("0.01"), rounding=ROUND_DOWN)  # at most half
    services.family_income_record(
        sponsorship=sponsorship,
        month_number=3,
        kind=EMPLOYMENT,
        member=adult,
        amount=half,  # not more than half
        recorded_by=case_worker,
    )
    with pytest.raises(ValidationError) as refused:
        services.support_reduction_record(
            sponsorship=sponsorship,
            month_number=3,
            amount=D("100.00"),
            reason="Works part-time.",
            decided_by=case_worker,
        )
    assert "more than half of the month's support" in refused.value.message_dict["amount"][0]
    assert not SupportReduction.objects.exists()
    services.family_income_record(
        sponsorship=sponsorship,
        month_number=3,
        kind=EMPLOYMENT,
        member=adult,
        amount=half + D("0.02"),
        recorded_by=case_worker,
    )
    reduction = services.support_reduction_record(
        sponsorship=sponsorship,
        month_number=3,
        amount=D("100.00"),
        reason="Works part-time.",
        decided_by=case_worker,
    )
    assert (reduction.month_number, reduction.amount) == (3, D("100.00"))
    assert reduction.reason == "Works part-time."


def test_the_canada_child_benefit_never_allows_a_reduction(sponsorship, case_worker):
    services.family_income_record(
        sponsorship=sponsorship,
        month_number=3,
        kind=CCB,
        amount=D("5000.00"),
        recorded_by=case_worker,
    )
    with pytest.raises(ValidationError) as refused:
        services.support_reduction_record(
            sponsorship=sponsorship,
            month_number=3,
            amount=D("100.00"),
            reason="They get the CCB.",
            decided_by=case_worker,
        )
    assert "The Canada Child Benefit never reduces support." in refused.value.messages[0]
    assert not SupportReduction.objects.exists()


def test_a_reduction_needs_a_reason(sponsorship, adult, case_worker):
    with pytest.raises(ValidationError) as refused:
        services.support_reduction_record(
            sponsorship=sponsorship,
            month_number=3,
            amount=D("100.00"),
            reason=" ",
            decided_by=case_worker,
        )
    assert "reason" in refused.value.message_dict


def test_the_review_shows_the_family_income_against_the_rap_floor(
    client, case_worker, sponsorship, adult
):
    _rate(household_size=1, monthly_amount=D("1200.00"))
    review = sponsorship.reviews.order_by("scheduled_for").first()  # month 3 review
    services.family_income_record(
        sponsorship=sponsorship,
        month_number=3,
        kind=EMPLOYMENT,
        member=adult,
        amount=D("1000.00"),
        recorded_by=case_worker,
    )
    services.family_income_record(
        sponsorship=sponsorship,
        month_number=3,
        kind=CCB,
        amount=D("400.00"),
        recorded_by=case_worker,
    )
    assert review.label == "Month 3 review"
    client.force_login(case_worker)
    html = client.get(
        reverse("admin:sponsorship_sponsorship_change", args=[sponsorship.pk])
    ).content.decode()
    assert "Month 3: own income $1,000.00 (CCB $400.00 not counted)" in html
    assert "RAP floor $1,200.00: below the floor" in html


def test_the_treasurer_records_income_in_the_portal_and_a_member_may_not(
    client, treasurer, member, sponsorship, adult
):
    url = reverse("portal:family-income", args=[sponsorship.public_id])
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(treasurer)
    page = client.get(url).content.decode()
    assert f"{adult.given_name} (18+)" in page
    refused = client.post(url, {"month_number": 2, "kind": EMPLOYMENT, "amount": "900.00"})
    html = refused.content.decode()
    assert refused.status_code == 200 and "There is a problem" in html
    assert "recorded for the member who earned it" in html
    assert not FamilyIncome.objects.exists()
    done = client.post(
        url, {"month_number": 2, "kind": EMPLOYMENT, "member": adult.pk, "amount": "900.00"}
    )
    assert done.status_code == 302
    line = FamilyIncome.objects.get()
    assert (line.member, line.amount, line.recorded_by) == (adult, D("900.00"), treasurer)
    assert "$900.00" in client.get(url).content.decode()


def test_the_admin_sponsorship_page_flags_months_below_the_rap_floor(
    client, case_worker, sponsorship
):
    client.force_login(case_worker)
    url = reverse("admin:sponsorship_sponsorship_change", args=[sponsorship.pk])
    assert "Below the RAP floor" not in client.get(url).content.decode()  # no rate on file
    _rate(household_size=1, monthly_amount=D("1200.00"))  # the plan is 13,200 / 12 = 1,100
    html = client.get(url).content.decode()
    assert "Below the RAP floor" in html
    assert "Month 1 planned at $1,100.00, below the RAP floor of $1,200.00" in html


def test_the_dashboard_at_risk_panel_flags_a_group_below_the_rap_floor(
    client, program_manager, sponsorship, other_sponsorship
):
    def reasons() -> dict[str, list[str]]:
        return {r.group.name: r.reasons for r in groups_at_risk()}

    assert "income support below the RAP floor" not in reasons().get("Maple Circle", [])
    _rate(household_size=1, monthly_amount=D("1200.00"))  # Toronto; the plan is 1,100 a month
    assert "income support below the RAP floor" in reasons()["Maple Circle"]
    client.force_login(program_manager)
    html = client.get(reverse("admin:index")).content.decode()
    assert "income support below the RAP floor" in html
