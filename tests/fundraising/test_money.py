"""Money arithmetic: Decimal everywhere, totals from Sum(), rounding that never overstates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.dates import add_months
from fundraising import selectors, services
from fundraising.forms import parse_amount
from fundraising.models import Pledge
from tests.factories import MonthlyPledgeFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def test_it_adds_months_clamping_to_the_end_of_the_month():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


def test_it_totals_received_and_pledged_separately(campaign):
    one_time = PledgeFactory(campaign=campaign, amount=Decimal("100.10"))
    monthly = MonthlyPledgeFactory(campaign=campaign, amount=Decimal("33.33"), months=12)
    PledgeFactory(campaign=campaign, amount=Decimal("999.99"), status=Pledge.Status.CANCELLED)
    services.payment_record(
        pledge=one_time, amount=Decimal("100.10"), received_on=one_time.pledged_on, method="cash"
    )
    services.payment_record(
        pledge=monthly, amount=Decimal("33.33"), received_on=monthly.pledged_on, method="cash"
    )
    PaymentFactory(pledge=None, campaign=campaign, amount=Decimal("0.01"))

    totals = selectors.campaign_totals(campaign)

    assert totals.received == Decimal("133.44")
    # 33.33 × 12 = 399.96 pledged, 33.33 received: 366.63 still to come; one-time is fulfilled.
    assert totals.pledged_outstanding == Decimal("366.63")
    assert totals.donors == 3  # two pledgers, one gift without a pledge; cancelled ignored
    one_time.refresh_from_db()
    monthly.refresh_from_db()
    assert one_time.status == Pledge.Status.FULFILLED
    assert monthly.status == Pledge.Status.PARTLY_PAID


def test_it_rounds_families_funded_down(campaign):
    PaymentFactory(pledge=None, campaign=campaign, amount=Decimal("99999.99"))
    totals = selectors.campaign_totals(campaign)
    assert totals.families_funded == Decimal("1.9")  # 1.99999... never shown as 2
    assert totals.received_percent == Decimal("39.9")


def test_it_caps_the_meter_at_the_goal(campaign):
    PaymentFactory(pledge=None, campaign=campaign, amount=Decimal("200000"))
    PledgeFactory(campaign=campaign, amount=Decimal("90000"))
    totals = selectors.campaign_totals(campaign)
    assert totals.received_percent + totals.pledged_percent == Decimal("100")


@pytest.mark.parametrize(
    ("amount", "advantage", "counted"),
    [
        (Decimal("1000.00"), Decimal("75.00"), Decimal("0.00")),  # ≤ lesser of $75 / 10%
        (Decimal("1000.00"), Decimal("75.01"), Decimal("75.01")),
        (Decimal("200.00"), Decimal("20.00"), Decimal("0.00")),  # 10% = $20
        (Decimal("200.00"), Decimal("20.01"), Decimal("20.01")),
    ],
)
def test_it_ignores_a_de_minimis_advantage(amount, advantage, counted):
    assert services.receipt_advantage(amount, advantage) == counted


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", "5.00"), ("50.5", "50.50"), ("$1,000.25", "1000.25"), (" 100000 ", "100000.00")],
)
def test_it_parses_amounts_people_type(raw, expected):
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    "raw", ["0", "-5", "4.99", "100000.01", "10.005", "NaN", "1e3", "Infinity", "5,00", "", "١٠"]
)
def test_it_refuses_amounts_that_are_not_plain_dollars(raw):
    with pytest.raises(ValidationError):
        parse_amount(raw)
