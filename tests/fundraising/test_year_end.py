"""Year-end receipting and the receipt PDF: the donor's language, fonts per script, logo and
signature, read-only, DUPLICATE on copies; a report of what was not issued and why."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from fundraising import services
from fundraising.models import DonorEmail, Payment, Receipt, ReceiptBranding
from fundraising.pdf import CJK, LATIN, script_runs
from tests.factories import PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db
KOREAN_ADDRESS = "서울특별시 종로구 100 Bloor St W\nToronto ON M5S 1A1"


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 80), color).save(out, "PNG")
    return out.getvalue()


def gift(email: str, *, year: int = 2025, **pledge_fields) -> Payment:
    pledge = PledgeFactory(email=email, **pledge_fields)
    return PaymentFactory(pledge=pledge, received_on=dt.date(year, 6, 1))


def test_latin_and_hangul_are_set_each_in_their_own_font():
    runs = script_runs("서울특별시 100 Bloor St W")
    assert runs == [("서울특별시 ", CJK), ("100 Bloor St W", LATIN)]
    assert script_runs("Montréal’s café") == [("Montréal’s café", LATIN)]


def test_year_end_issues_one_receipt_per_donor_and_reports_the_rest(
    campaign, django_capture_on_commit_callbacks, mailoutbox
):
    ada = PledgeFactory(campaign=campaign, email="ada@example.org")
    PaymentFactory(pledge=ada, amount=Decimal("100"), received_on=dt.date(2025, 3, 1))
    PaymentFactory(pledge=ada, amount=Decimal("200"), received_on=dt.date(2025, 9, 1))
    no_address = gift("noaddress@example.org", campaign=campaign, address="", wants_receipt=False)
    no_address.pledge.wants_receipt = True
    no_address.pledge.save()
    directed = gift("directed@example.org", campaign=campaign)
    Payment.objects.filter(pk=directed.pk).update(is_private_benevolence=True)
    earlier = gift("earlier@example.org", campaign=campaign)
    services.receipt_issue(payment=earlier)
    gift("nextyear@example.org", campaign=campaign, year=2026)

    preview = services.receipts_year_end(year=2025, dry_run=True)
    assert preview.issued == [] and ("ada@example.org", Decimal("300.00")) in preview.would_issue
    assert not Receipt.objects.filter(kind="yearly").exists()

    with django_capture_on_commit_callbacks(execute=True):
        report = services.receipts_year_end(year=2025)
    (receipt,) = report.issued
    assert (receipt.donor_email, receipt.eligible_amount) == ("ada@example.org", Decimal("300"))
    reasons = dict(report.not_issued)
    assert reasons["noaddress@example.org"] == "no postal address"
    assert any(why == "directed gift (private benevolence)" for why in reasons.values())
    assert any(why == "already receipted" for why in reasons.values())
    assert [m.to for m in mailoutbox if "receipt" in m.subject.lower()][-1] == ["ada@example.org"]
    assert DonorEmail.objects.filter(kind="receipt", receipt=receipt).exists()

    again = services.receipts_year_end(year=2025)
    assert again.issued == []  # nothing twice


def test_a_french_donor_gets_a_french_receipt(campaign):
    payment = gift("fr@example.org", campaign=campaign, language="fr")
    receipt = services.receipt_issue(payment=payment)
    text = text_of(bytes(receipt.pdf))
    assert "Reçu officiel aux fins de l'impôt sur le revenu" in text
    assert "Montant admissible du don aux fins de l'impôt : 50,00" in text
    assert receipt.language == "fr"


def test_the_receipt_is_read_only_with_logo_and_signature(campaign):
    ReceiptBranding.objects.create(logo=png("navy"), signature=png("black"))
    receipt = services.receipt_issue(payment=gift("ada@example.org", campaign=campaign))
    reader = PdfReader(io.BytesIO(bytes(receipt.pdf)))
    assert reader.is_encrypted  # opens without a password; editing is not permitted
    assert len(reader.pages[0].images) == 2


def test_copies_say_duplicate_and_the_original_does_not(
    client, campaign, django_capture_on_commit_callbacks, mailoutbox
):
    receipt = services.receipt_issue(payment=gift("ada@example.org", campaign=campaign))
    assert "DUPLICATE" not in text_of(bytes(receipt.pdf))
    with django_capture_on_commit_callbacks(execute=True):
        services.receipt_send_copy(receipt=receipt)
    copy = mailoutbox[-1].attachments[0][1]
    assert "DUPLICATE" in text_of(copy)
    assert receipt.number in text_of(copy)


def test_staff_run_year_end_from_the_admin(admin_client, campaign):
    gift("ada@example.org", campaign=campaign)
    url = reverse("admin:fundraising_receipt_year_end")
    preview = admin_client.post(url, {"year": "2025", "preview": "1"}).content.decode()
    assert "ada@example.org" in preview and not Receipt.objects.exists()
    admin_client.post(url, {"year": "2025", "issue": "1"})
    assert Receipt.objects.get().kind == "yearly"


def test_a_korean_address_receipt_renders_both_scripts(campaign, tmp_path):
    """Rendered to an image with pdftoppm (kept under var/ for a person to look at)."""
    payment = gift(
        "kim@example.org",
        campaign=campaign,
        donor_name="김하나 Hana Kim",
        address=KOREAN_ADDRESS,
        language="ko",
    )
    ReceiptBranding.objects.create(logo=png("navy"), signature=png("black"))
    receipt = services.receipt_issue(payment=payment)
    text = text_of(bytes(receipt.pdf))
    assert "100 Bloor St W" in text and "서울특별시" in text
    assert "Amount of gift / 기부 금액" in text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the image was not rendered")
    pdf_path = tmp_path / "receipt.pdf"
    pdf_path.write_bytes(bytes(receipt.pdf))
    out = Path(__file__).resolve().parents[2] / "var" / "receipt-korean"
    out.parent.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", pdf_path, out], check=True)
    assert out.with_suffix(".png").stat().st_size > 10_000
