"""CRA official receipts: fields, refusals, serials, cancel and replace."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections
from pypdf import PdfReader

from fundraising import rules, services
from fundraising.models import DonorEmail, Payment, Receipt
from fundraising.pdf import receipt_pdf
from tests.factories import CampaignFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def pdf_text(receipt: Receipt) -> str:
    reader = PdfReader(io.BytesIO(bytes(receipt.pdf)))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@time_machine.travel(dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC))
def test_it_puts_every_field_cra_requires_on_the_pdf(campaign):
    payment = PaymentFactory(
        pledge__campaign=campaign,
        pledge__donor_name="Ada Example",
        pledge__address="1 Example Street\nToronto ON M5V 1A1",
        amount=Decimal("1000.00"),
        advantage_amount=Decimal("100.00"),
        advantage_description="Gala dinner",
        received_on=dt.date(2026, 3, 2),
    )

    receipt = services.receipt_issue(payment=payment)

    text = pdf_text(receipt)
    for required in [
        "Official receipt for income tax purposes",
        "HanVoice Pioneer Project",
        "100 King Street West, Suite 5600, Toronto ON M5X 1C9",
        "000000000RR0001",
        f"Receipt serial number: {receipt.number}",
        "Place issued: Toronto, Ontario",
        "Date gift received: 2026-03-02",
        "Date issued: 2026-04-10",
        "Ada Example",
        "1 Example Street",
        "Toronto ON M5V 1A1",
        "Amount of gift: $1,000.00",
        "Value of advantage: $100.00",
        "Gala dinner",
        "Eligible amount of gift for tax purposes: $900.00",
        "Authorised signature",
        "Canada Revenue Agency",
        "www.canada.ca/charities-giving",
    ]:
        assert required in text, required
    assert receipt.eligible_amount == Decimal("900.00")
    assert receipt.pdf_sha256 == hashlib.sha256(bytes(receipt.pdf)).hexdigest()
    assert bytes(receipt_pdf(receipt)) == bytes(receipt.pdf)  # deterministic, verifiable


def test_it_e_mails_the_receipt_with_the_pdf(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    payment = PaymentFactory(pledge__campaign=campaign, pledge__email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.receipt_issue(payment=payment)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert receipt.number in message.subject
    assert message.attachments[0][0] == f"receipt-{receipt.number}.pdf"
    assert DonorEmail.objects.get(receipt=receipt).sent_at is not None


def test_it_gives_consecutive_serials(campaign):
    numbers = [
        services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign)).serial
        for _ in range(3)
    ]
    assert numbers == [1, 2, 3]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"donor_address": ""}, "postal address is missing"),
        ({"is_private_benevolence": True}, "private benevolence"),
        ({"advantage_amount": Decimal("40.01")}, "more than 80%"),
    ],
)
def test_it_refuses_a_receipt_cra_forbids_and_says_why(campaign, changes, reason):
    payment = PaymentFactory(pledge__campaign=campaign, amount=Decimal("50.00"), **changes)
    with pytest.raises(ValidationError) as exc:
        services.receipt_issue(payment=payment)
    assert reason in " ".join(exc.value.messages)
    assert Receipt.objects.count() == 0


def test_it_issues_one_receipt_per_payment(campaign):
    payment = PaymentFactory(pledge__campaign=campaign)
    first = services.receipt_issue(payment=payment)
    with pytest.raises(ValidationError) as exc:
        services.receipt_issue(payment=payment)
    assert first.number in exc.value.messages[0]


def test_it_cancels_and_replaces_keeping_the_original(campaign):
    payment = PaymentFactory(pledge__campaign=campaign, pledge__donor_name="Ada Exampel")
    original = services.receipt_issue(payment=payment)

    replacement = services.receipt_cancel_and_replace(
        receipt=original, reason="Name misspelt", donor_name="Ada Example"
    )

    original.refresh_from_db()
    assert original.cancelled_at is not None and original.cancel_reason == "Name misspelt"
    assert replacement.serial == original.serial + 1
    assert replacement.replaces == original and replacement.cancelled_at is None
    text = pdf_text(replacement)
    assert f"Cancels and replaces receipt No. {original.number}" in text
    assert "Ada Example" in text
    assert "Ada Exampel" in pdf_text(original)  # the original PDF is untouched
    with pytest.raises(ValidationError):
        services.receipt_cancel_and_replace(receipt=original, reason="again")
    assert Receipt.objects.count() == 2


@time_machine.travel(dt.datetime(2027, 1, 15, 15, 0, tzinfo=dt.UTC))
def test_it_combines_a_years_gifts_in_one_receipt(campaign):
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org", amount=Decimal("25.00"))
    for month in (1, 2, 3):
        PaymentFactory(pledge=pledge, received_on=dt.date(2026, month, 5))
    PaymentFactory(pledge=pledge, received_on=dt.date(2027, 1, 5))  # another year

    receipt = services.receipt_issue_yearly(donor_email="ADA@example.org", year=2026)

    assert receipt.kind == Receipt.Kind.YEARLY
    assert receipt.amount == Decimal("75.00") and receipt.payments.count() == 3
    text = pdf_text(receipt)
    assert "Year gifts received: 2026" in text and "Amount of gift: $75.00" in text
    with pytest.raises(ValidationError, match="No payment of 2026"):
        services.receipt_issue_yearly(donor_email="ada@example.org", year=2026)


def test_it_does_not_receipt_a_payment_twice_through_a_yearly_receipt(campaign):
    payment = PaymentFactory(pledge__campaign=campaign, received_on=dt.date(2026, 2, 1))
    services.receipt_issue(payment=payment)
    with pytest.raises(ValidationError):
        services.receipt_issue_yearly(donor_email=payment.donor_email, year=2026)


def test_it_cannot_be_deleted_from_the_database_by_a_careless_delete(campaign):
    receipt = services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign))
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        Payment.objects.filter(pk=receipt.payment_id).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises every writer; row locks under real concurrency need PostgreSQL",
)
def test_it_gives_50_concurrent_issues_50_distinct_consecutive_serials():

    campaign = CampaignFactory()
    payments = [PaymentFactory(pledge__campaign=campaign) for _ in range(50)]
    barrier = threading.Barrier(10)
    errors: list[Exception] = []

    def issue(chunk: list[Payment]) -> None:
        try:
            barrier.wait()
            for payment in chunk:
                services.receipt_issue(payment=payment)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(payments[i::10],)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    serials = sorted(Receipt.objects.values_list("serial", flat=True))
    assert serials == list(range(1, 51))


def test_a_yearly_receipt_applies_the_small_advantage_rule_gift_by_gift(campaign):
    """100 with a 20 advantage (more than 10%: it counts) + 1,000 → eligible 1,080, not 1,100."""
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org")
    PaymentFactory(
        pledge=pledge,
        amount=Decimal("100.00"),
        advantage_amount=Decimal("20.00"),
        advantage_description="Concert ticket",
        received_on=dt.date(2025, 5, 1),
    )
    PaymentFactory(pledge=pledge, amount=Decimal("1000.00"), received_on=dt.date(2025, 9, 1))

    receipt = services.receipt_issue_yearly(donor_email="ada@example.org", year=2025)

    assert receipt.amount == Decimal("1100.00")
    assert receipt.advantage_amount == Decimal("20.00")
    assert receipt.eligible_amount == Decimal("1080.00")
    assert "Eligible amount of gift for tax purposes: $1,080.00" in pdf_text(receipt)


def test_the_one_rule_gives_the_same_amount_for_a_single_gift_receipt(campaign):
    payment = PaymentFactory(
        pledge__campaign=campaign, amount=Decimal("100.00"), advantage_amount=Decimal("20.00")
    )
    receipt = services.receipt_issue(payment=payment)
    assert receipt.eligible_amount == Decimal("80.00")
    assert rules.receipt_amounts([(Decimal("100.00"), Decimal("20.00"))]).eligible == Decimal(
        "80.00"
    )
