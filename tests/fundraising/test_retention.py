"""Donors without pledge or payment activity for settings.RETENTION["donor_years"] are
anonymised by `manage.py apply_retention`; active donors, amounts and receipts are kept."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from fundraising.models import Payment, Pledge
from fundraising.retention import donors_due_for_anonymising
from tests.factories import CampaignFactory, PaymentFactory, PledgeFactory

TODAY = datetime.date(2026, 11, 21)
NOW = datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.UTC)
OLD = datetime.date(2018, 3, 1)  # more than 7 years before TODAY
RECENT = datetime.date(2024, 6, 1)


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.RETENTION = {"case_file_years": 6, "access_log_years": 6, "donor_years": 7}


def _old_pledge(email: str, **fields) -> Pledge:
    fields.setdefault("status", Pledge.Status.FULFILLED)
    return PledgeFactory(email=email, pledged_on=OLD, **fields)


@pytest.mark.django_db
def test_it_selects_only_donors_inactive_for_the_whole_period():
    _old_pledge("Gone.Quiet@example.org")
    # Old pledge, but a payment since: still a donor.
    PaymentFactory(pledge=_old_pledge("paid.later@example.org"), received_on=RECENT)
    # Old pledge and a recent one under the same address in another case.
    _old_pledge("twice@example.org")
    PledgeFactory(email="TWICE@example.org", pledged_on=RECENT, status=Pledge.Status.FULFILLED)
    # An open monthly pledge is a live relationship whatever its age.
    _old_pledge("monthly@example.org", status=Pledge.Status.PARTLY_PAID)
    # A gift without a pledge, long ago.
    PaymentFactory(
        pledge=None, campaign=CampaignFactory(), donor_email="cheque@example.org", received_on=OLD
    )
    PaymentFactory(
        pledge=None,
        campaign=CampaignFactory(),
        donor_email="new.cheque@example.org",
        received_on=RECENT,
    )

    due = donors_due_for_anonymising(today=TODAY, years=7)

    assert due == ["cheque@example.org", "gone.quiet@example.org"]


@pytest.mark.django_db
def test_it_is_two_queries_whatever_the_number_of_donors(django_assert_num_queries):
    for n in range(15):
        PaymentFactory(pledge=_old_pledge(f"d{n}@example.org"), received_on=OLD)
    with django_assert_num_queries(2):
        assert len(donors_due_for_anonymising(today=TODAY, years=7)) == 15


@pytest.mark.django_db
@time_machine.travel(NOW)
def test_it_anonymises_inactive_donors_from_the_command_and_keeps_the_money():
    quiet = _old_pledge("quiet@example.org", donor_name="Quentin Quiet", address="1 Old Road")
    payment = PaymentFactory(pledge=quiet, received_on=OLD, amount=Decimal("75.00"))
    active = PledgeFactory(email="active@example.org", donor_name="Ava Active", pledged_on=RECENT)

    out = io.StringIO()
    call_command("apply_retention", stdout=out)

    quiet.refresh_from_db()
    assert (quiet.email, quiet.address, quiet.is_anonymous) == ("", "", True)
    assert quiet.donor_name != "Quentin Quiet"
    assert quiet.anonymised_at is not None
    payment.refresh_from_db()
    assert payment.amount == Decimal("75.00")
    assert payment.donor_email == ""
    active.refresh_from_db()
    assert (active.email, active.donor_name) == ("active@example.org", "Ava Active")
    assert "Anonymised 1 donor(s)" in out.getvalue()
    assert "quiet@example.org" not in out.getvalue()  # the output names no one

    # Once anonymised, a donor is not selected again.
    assert donors_due_for_anonymising(today=TODAY, years=7) == []


@pytest.mark.django_db
def test_a_dry_run_anonymises_no_one():
    pledge = _old_pledge("quiet@example.org")
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    pledge.refresh_from_db()
    assert pledge.email == "quiet@example.org"
    assert Payment.objects.count() == 0
    assert "Would anonymise 1 donor(s)" in out.getvalue()
