"""Invariants the database itself enforces (named constraints), and what logs may say."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from fundraising import services
from fundraising.models import DonorEmail, Pledge, Receipt
from tests.factories import MonthlyPledgeFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"amount": Decimal("0")}, "fundraising_pledge_amount_positive"),
        ({"frequency": "monthly", "months": 37}, "fundraising_pledge_months_1_36"),
        ({"frequency": "monthly", "months": 0}, "fundraising_pledge_months_1_36"),
        ({"frequency": "one_time", "months": 3}, "fundraising_pledge_one_time_is_one_month"),
        ({"status": "paid?"}, "fundraising_pledge_status_valid"),
    ],
)
def test_it_refuses_impossible_pledges_in_the_database(campaign, changes, constraint):
    pledge = PledgeFactory(campaign=campaign)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Pledge.objects.filter(pk=pledge.pk).update(**changes)


def test_it_refuses_a_second_active_receipt_for_a_payment(campaign):
    receipt = services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign))
    duplicate = Receipt.objects.get(pk=receipt.pk)
    duplicate.pk = None
    duplicate.public_id = None
    duplicate.serial = 99
    import uuid

    duplicate.public_id = uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_it_refuses_a_duplicate_reminder_row(campaign):
    pledge = MonthlyPledgeFactory(campaign=campaign)
    DonorEmail.objects.create(
        kind="pledge-instalment-due", pledge=pledge, due_on=dt.date(2026, 2, 10)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DonorEmail.objects.create(
            kind="pledge-instalment-due", pledge=pledge, due_on=dt.date(2026, 2, 10)
        )


def test_it_makes_unambiguous_reference_codes(campaign):
    references = {PledgeFactory(campaign=campaign).reference for _ in range(50)}
    assert len(references) == 50
    for reference in references:
        assert len(reference) == 12 and reference.startswith("HV-")
        assert not set(reference[3:].replace("-", "")) & set("01OILU")


def test_it_renders_a_receipt_for_a_korean_name(campaign):
    payment = PaymentFactory(pledge__campaign=campaign, pledge__donor_name="김민지")
    receipt = services.receipt_issue(payment=payment)
    assert bytes(receipt.pdf).startswith(b"%PDF")


def test_it_keeps_donor_details_out_of_the_logs(
    campaign, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        pledge = services.pledge_create(
            campaign=campaign,
            donor_name="Secret Name",
            email="secret@example.org",
            address="99 Private Road",
            amount=Decimal("75"),
        )
        payment = services.payment_record(
            pledge=pledge, amount=Decimal("75"), received_on=pledge.pledged_on, method="cash"
        )
        services.receipt_issue(payment=payment)
    with caplog.at_level(logging.DEBUG):
        services.donor_anonymise(email="secret@example.org")
    assert pledge.reference in caplog.text
    for secret in ("Secret Name", "secret@example.org", "Private Road"):
        assert secret not in caplog.text
    assert len(mailoutbox) == 2  # confirmation and receipt
