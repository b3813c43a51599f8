"""Payment imports: bank / e-Transfer statements matched by HV- reference, CanadaHelps and
Benevity exports recorded as gifts through a qualified donee; preview, all or nothing, never
twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from fundraising import imports, selectors, services
from fundraising.models import Payment, Pledge
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db
HEADER = "date,amount,transaction_id,description\n"


def bank(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


@pytest.fixture
def pledge(campaign):
    return PledgeFactory(
        campaign=campaign,
        reference="HV-ABCD-2345",
        amount=Decimal("50.00"),
        pledged_on=dt.date(2026, 1, 15),  # before the statement's payments
    )


def test_a_statement_is_previewed_then_imported_once(pledge):
    text = bank(
        "2026-03-02,50.00,TX-1,INTERAC e-Transfer from ADA hv-abcd-2345",
        "2026-03-03,20.00,TX-2,Transfer without a reference",
    )
    preview = imports.payments_import(source="bank", text=text, dry_run=True)
    assert preview.ok and [r.pledge for r in preview.to_record] == [pledge]
    assert preview.skipped[0][0] == 3 and not Payment.objects.exists()

    done = imports.payments_import(source="bank", text=text, dry_run=False)
    assert done.recorded == 1
    payment = Payment.objects.get()
    assert (payment.pledge, payment.amount, payment.external_id) == (pledge, 50, "bank:TX-1")
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.FULFILLED

    again = imports.payments_import(source="bank", text=text, dry_run=False)
    assert again.recorded == 0 and again.skipped[0] == (2, "already imported")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,how much,id,memo\n2026-03-02,50,TX-1,HV-ABCD-2345\n", "The header must be"),
        (bank("2026-03-02,50,TX-1,HV-ABCD-2345", "2026-03-02,50,TX-1,HV-ABCD-2345"), "twice"),
        (bank("2026-03-02,-50,TX-1,HV-ABCD-2345"), "zero or negative"),
        (bank("2999-01-01,50,TX-1,HV-ABCD-2345"), "in the future"),
        (bank("yesterday,50,TX-1,HV-ABCD-2345"), "not a date"),
    ],
)
def test_bad_files_are_reported_and_nothing_is_written(pledge, text, message):
    good = "2026-03-01,10,TX-0,HV-ABCD-2345\n"
    report = imports.payments_import(source="bank", text=text + good, dry_run=False)
    assert not report.ok and message in " ".join(why for _line, why in report.errors)
    assert not Payment.objects.exists()


def test_canadahelps_gifts_count_but_are_never_receipted(campaign):
    text = (
        "TRANSACTION NUMBER,DONATION DATE,DONOR FIRST NAME,DONOR LAST NAME,"
        "DONOR EMAIL ADDRESS,AMOUNT,MESSAGE\n"
        "CH-77,2025-11-20,Min,Park,min@example.org,$250.00,Good luck\n"
    )
    report = imports.payments_import(
        source="canadahelps", text=text, campaign=campaign, dry_run=False
    )
    assert report.recorded == 1
    payment = Payment.objects.get()
    assert payment.via_qualified_donee == "CanadaHelps" and payment.method == "donee"
    assert payment.donor_email == "min@example.org"
    assert selectors.campaign_totals(campaign).received == Decimal("250.00")
    assert payment in selectors.donor_payments("min@example.org")
    assert payment not in selectors.payments_not_receipted()
    with pytest.raises(Exception, match="qualified donee"):
        services.receipt_issue(payment=payment)
    year_end = services.receipts_year_end(year=2025, dry_run=True)
    assert year_end.would_issue == []
    assert "received through CanadaHelps, which receipts it" in dict(year_end.not_issued).values()


def test_benevity_needs_a_campaign_and_its_columns(campaign):
    text = "Transaction ID,Donation Date,Email\nB-1,2025-01-01,x@example.org\n"
    assert not imports.payments_import(source="benevity", text=text, dry_run=True).ok
    report = imports.payments_import(source="benevity", text=text, campaign=campaign)
    assert "Columns missing" in report.errors[0][1]


def test_staff_preview_and_import_in_the_admin(admin_client, pledge):
    url = reverse("admin:fundraising_payment_import")
    upload = SimpleUploadedFile("bank.csv", bank("2026-03-02,50.00,TX-9,HV-ABCD-2345").encode())
    preview = admin_client.post(url, {"source": "bank", "file": upload, "preview": "1"})
    html = preview.content.decode()
    assert "HV-ABCD-2345" in html and not Payment.objects.exists()
    content = bank("2026-03-02,50.00,TX-9,HV-ABCD-2345")
    admin_client.post(url, {"source": "bank", "content": content, "import": "1"})
    assert Payment.objects.get().external_id == "bank:TX-9"
    assert timezone.localdate() >= dt.date(2026, 3, 2)
