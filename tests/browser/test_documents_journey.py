"""Evidence in Debian's Chromium on a phone: a treasurer uploads a receipt for a payment,
another member of the group downloads it, a member of another group is refused (404).
Screenshots at 375 px and 1280 px: `make screenshots`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from evidence.models import Document
from sponsorship.models import Disbursement
from tests.evidence.conftest import SECRET_TEXT, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def _sign_in_as(page, live_server, user) -> None:
    page.context.clear_cookies()
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user.pk))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_receipt_uploaded_on_a_phone_is_shared_with_the_group_only(
    live_server,
    page,
    screenshot,
    tmp_path,
    settings,
    sponsorship,
    treasurer,
    member,
    other_member,
):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    payment = Disbursement.objects.create(
        sponsorship=sponsorship,
        month_number=1,
        amount="1500.00",
        paid_on=sponsorship.arrival_date,
        method=Disbursement.Method.ETRANSFER,
        recorded_by=treasurer,
    )
    receipt = tmp_path / "rent-receipt-may.pdf"
    receipt.write_bytes(pdf_bytes())

    page.set_viewport_size(PHONE)
    _sign_in_as(page, live_server, treasurer)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/")
    page.get_by_role("link", name="Documents").click()
    expect(page.locator("h1")).to_have_text("Documents")
    page.get_by_label("Evidence of").select_option(f"disbursement:{payment.public_id}")
    page.get_by_label("Kind of document").select_option("receipt")

    # A program renamed .pdf is refused next to the field, and nothing is kept.
    fake = tmp_path / "receipt.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 400)
    page.get_by_label("File").set_input_files(str(fake))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".invalid-feedback").first).to_contain_text("Only PDF, JPEG and PNG")
    _no_sideways_scroll(page)
    screenshot(page, "documents-phone-1-refused.png", full_page=True)
    assert not Document.objects.exists()

    page.get_by_label("Evidence of").select_option(f"disbursement:{payment.public_id}")
    page.get_by_label("File").set_input_files(str(receipt))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Document uploaded.")).to_be_visible()
    expect(page.locator(".text-break", has_text="rent-receipt-may.pdf")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "documents-phone-2-uploaded.png", full_page=True)
    document = Document.objects.get()
    assert document.disbursement == payment

    # Another member of the same group downloads it.
    _sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/documents/")
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)  # members only view
    page.set_viewport_size(DESKTOP)
    screenshot(page, "documents-desktop-member.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rent-receipt-may.pdf").click()
    assert download.value.suggested_filename == "rent-receipt-may.pdf"
    assert Path(download.value.path()).read_bytes() == pdf_bytes()

    # A member of another group is refused, whichever URL they try.
    _sign_in_as(page, live_server, other_member)
    url = f"{live_server.url}/portal/documents/{document.public_id}/download/"
    assert page.request.get(url).status == 404
    response = page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/documents/")
    assert response.status == 404
    assert SECRET_TEXT not in page.content() and "rent-receipt-may" not in page.content()
    screenshot(page, "documents-desktop-other-group-404.png", full_page=True)
