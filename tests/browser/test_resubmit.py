"""Back + Save again, and double clicks, on every portal and public POST form: one row.

A tired person presses Back after "Check-in saved" and saves again, or clicks twice: the
form's one-time token (sponsorship/submissions.py, the pledge's idempotency key) makes the
second try land on what the first one wrote, with a message, and write nothing more.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from evidence.models import Document, PlanAcknowledgement
from fundraising.models import DonorEmail, DonorLink, Pledge
from fundraising.services import donor_link_url
from sponsorship.models import CheckIn, Disbursement, Milestone, Reminder, Review
from tests.evidence.conftest import pdf_bytes
from tests.factories import CampaignFactory, MonthlyPledgeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALREADY = "already saved"


def _sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _again(page, button: str) -> None:
    """Back to the form as it was sent, and send it once more."""
    page.go_back()
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(re.compile(ALREADY))).to_be_visible()


def test_back_and_save_again_on_every_portal_form_writes_one_row(
    live_server, page, sponsorship, coordinator, treasurer, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    base = f"{live_server.url}/portal"
    _sign_in(page, live_server, coordinator)

    # An urgent check-in: one row, one e-mail to the case worker.
    page.goto(f"{base}/{sponsorship.public_id}/check-ins/")
    page.get_by_role("link", name="Log a visit or call").click()
    page.get_by_label("Who took part").fill("Cora and the family")
    page.get_by_label("Coping").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Describe the concern").fill("Eviction notice on the door")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved")).to_be_visible()
    _again(page, "Save check-in")
    assert CheckIn.objects.filter(sponsorship=sponsorship).count() == 1
    urgent = Reminder.objects.filter(kind=Reminder.Kind.URGENT_CONCERN)
    assert urgent.values("subject_key").distinct().count() == 1

    # A plan item the group adds.
    page.goto(f"{base}/{sponsorship.public_id}/plan/")
    page.get_by_role("link", name="Add an item").click()
    page.get_by_label("What needs doing").fill("Library cards")
    page.get_by_label("Due on").fill(str(sponsorship.arrival_date.replace(day=28)))
    before = Milestone.objects.filter(sponsorship=sponsorship).count()
    page.get_by_role("button", name="Add to the plan").click()
    expect(page.get_by_text("Added to the plan")).to_be_visible()
    _again(page, "Add to the plan")
    assert Milestone.objects.filter(sponsorship=sponsorship).count() == before + 1

    # A note on a milestone, then a waiver request.
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).first()
    page.goto(f"{base}/{sponsorship.public_id}/plan/")
    page.get_by_role("link", name=milestone.title).first.click()
    page.locator("textarea[name=text]").fill("Bank is on Tuesday")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    _again(page, "Add note")
    milestone.refresh_from_db()
    assert milestone.notes.count("Bank is on Tuesday") == 1

    page.locator("textarea[name=reason]").fill("Not needed for this family")
    page.get_by_role("button", name="Request a waiver").click()
    expect(page.get_by_text("Waiver requested: HanVoice")).to_be_visible()
    page.go_back()  # the page now says a waiver was asked for, and offers no second one
    expect(page.get_by_role("button", name="Request a waiver")).to_have_count(0)

    # The group's input before a review.
    review = Review.objects.filter(sponsorship=sponsorship, held_on__isnull=True).first()
    page.goto(f"{base}/{sponsorship.public_id}/reviews/")
    page.locator(f"a[href*='{review.public_id}']").click()
    page.locator("textarea[name=text]").fill("Settling in well")
    page.get_by_role("button", name=re.compile("Send")).click()
    expect(page.get_by_text("input is with HanVoice")).to_be_visible()
    _again(page, re.compile("Send"))

    # A second check-in, opened again from the list, is a new one.
    page.goto(f"{base}/{sponsorship.public_id}/check-ins/")
    page.get_by_role("link", name="Log a visit or call").click()
    page.get_by_label("Who took part").fill("Cora")
    page.get_by_label("Coping").check()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved")).to_be_visible()
    assert CheckIn.objects.filter(sponsorship=sponsorship).count() == 2

    # A payment, recorded by the treasurer; then a double click on a second one.
    page.context.clear_cookies()
    _sign_in(page, live_server, treasurer)
    page.goto(f"{base}/{sponsorship.public_id}/income-support/")
    page.get_by_role("link", name="Record a payment").click()
    page.get_by_label("Amount (CAD)").fill("1100")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    _again(page, "Record payment")
    assert Disbursement.objects.filter(sponsorship=sponsorship).count() == 1

    page.get_by_role("link", name="Record a payment").click()
    page.get_by_label("Amount (CAD)").fill("200")
    page.get_by_role("button", name="Record payment").dblclick()
    page.wait_for_load_state("networkidle")  # both POSTs answered
    expect(page.locator("h1")).to_have_text(re.compile("Income support"))
    assert Disbursement.objects.filter(sponsorship=sponsorship).count() == 2

    # A receipt for that payment: Back, and the same upload sent again (what the browser's
    # "Resubmit the form?" does: the page's fields, its token and the file, once more).
    receipt = tmp_path / "receipt-june.pdf"
    receipt.write_bytes(pdf_bytes())
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Kind of document").select_option("receipt")
    page.get_by_label("File").set_input_files(str(receipt))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Document uploaded.")).to_be_visible()
    uploaded = page.url
    page.go_back()
    form = page.locator("form.portal-form")
    fields = {
        name: form.locator(f"[name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "request_token", "target")
    }
    again = page.request.post(
        page.url,
        multipart={
            **fields,
            "kind": "receipt",
            "file": {"name": receipt.name, "mimeType": "application/pdf", "buffer": pdf_bytes()},
        },
    )
    assert again.url == uploaded  # sent to the document already kept
    assert ALREADY in again.text()
    assert Document.objects.filter(sponsorship=sponsorship).count() == 1

    # A double click on a second upload keeps one more, not two.
    page.goto(uploaded)
    page.get_by_label("Kind of document").select_option("receipt")
    page.get_by_label("File").set_input_files(str(receipt))
    page.get_by_role("button", name="Upload").dblclick()
    page.wait_for_load_state("networkidle")  # both POSTs answered
    expect(page.locator("h1")).to_have_text("Documents")
    expect(page.locator(".text-break", has_text="receipt-june.pdf")).to_have_count(2)
    assert Document.objects.filter(sponsorship=sponsorship).count() == 2


def test_back_and_pledge_again_on_the_public_page_writes_one_pledge(live_server, page):
    campaign = CampaignFactory()
    url = f"{live_server.url}/give/{campaign.slug}/"
    page.goto(url)
    page.locator("label", has_text=re.compile(r"^\$25$")).click()
    page.get_by_label("Full name").fill("Mina Example")
    page.get_by_label("E-mail").fill("mina@example.org")
    page.get_by_label("Postal address").fill("12 Example Avenue\nToronto ON M4M 1A1")
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.get_by_role("button", name="Pledge").click()
    expect(page.locator("h1")).to_have_text("Thank you for your pledge")
    thanks = page.url

    # Back, and the same form sent again (as the browser does on "Resubmit the form?"):
    page.go_back()
    again = page.request.post(
        url,
        data=posted.value.post_data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.url == thanks  # sent to the pledge already made
    assert Pledge.objects.filter(email="mina@example.org").count() == 1
    assert get_user_model().objects.count() == 0  # and no account was made along the way


def _click_and_keep_the_post(page, button):
    """Click `button` and return the POST it sent (what "Resubmit the form?" sends again)."""
    with page.expect_request(lambda r: r.method == "POST") as posted:
        button.click()
    page.wait_for_load_state()
    return posted.value


def _resend(page, request):
    """Back, and the same POST once more, as the browser's "Resubmit the form?" sends it (the
    page Back shows may already offer no form: the server now knows it was done)."""
    page.go_back()
    response = page.request.post(
        request.url,
        data=request.post_data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status < 500, response.status
    return response


def test_back_and_save_again_on_the_milestone_and_the_plan_signature_writes_once(
    live_server, page, sponsorship, coordinator
):
    base = f"{live_server.url}/portal"
    _sign_in(page, live_server, coordinator)

    # "Mark as done": Back and again, then a double click on another milestone.
    first, second = sponsorship.milestones.filter(completed_on__isnull=True).order_by("pk")[:2]
    page.goto(f"{base}/milestones/{first.public_id}/")
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Mark as done"))
    expect(page.get_by_text("Marked done. Thank you!")).to_be_visible()
    first.refresh_from_db()
    done = (first.completed_on, first.completed_by_id)
    _resend(page, sent)
    first.refresh_from_db()
    assert (first.completed_on, first.completed_by_id) == done
    page.goto(f"{base}/milestones/{second.public_id}/")
    page.get_by_role("button", name="Mark as done").dblclick()
    page.wait_for_load_state("networkidle")  # both POSTs answered
    expect(page.get_by_text(re.compile("Marked done|already"))).to_be_visible()
    second.refresh_from_db()
    assert second.completed_on is not None

    # The plan signature: one per member and version, whatever the browser sends again.
    page.goto(f"{base}/{sponsorship.public_id}/plan/sign/")
    page.get_by_label("Your full name").fill("Cora Example")
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Sign the plan"))
    expect(page.get_by_text("Thank you: your signature is recorded.")).to_be_visible()
    again = _resend(page, sent)
    assert "already" in again.text() or "You signed this version" in again.text()
    assert PlanAcknowledgement.objects.filter(user=coordinator).count() == 1
    page.goto(f"{base}/{sponsorship.public_id}/plan/sign/")
    expect(page.get_by_role("button", name="Sign the plan")).to_have_count(0)


def test_back_and_send_again_on_the_donor_pages_has_one_effect(live_server, page, mailoutbox):
    pledge = MonthlyPledgeFactory(email="vera@example.org")
    start = f"{live_server.url}/give/donor/"

    # Asking for a sign-in link: Back and ask again, and a double click: one link, one e-mail.
    page.goto(start)
    page.get_by_label("E-mail").fill("vera@example.org")
    button = page.get_by_role("button", name="E-mail me a sign-in link")
    sent = _click_and_keep_the_post(page, button)
    _resend(page, sent)
    page.goto(start)
    page.get_by_label("E-mail").fill("vera@example.org")
    page.get_by_role("button", name="E-mail me a sign-in link").dblclick()
    # Both POSTs answered before the next address: a navigation still in flight would
    # abort the next goto (net::ERR_ABORTED).
    page.wait_for_load_state("networkidle")
    assert DonorEmail.objects.filter(kind=DonorEmail.Kind.SIGN_IN).count() == 1
    assert DonorLink.objects.filter(email="vera@example.org").count() == 1

    # The link's "Sign in" sent again lands on the donor's page, still signed in.
    link = DonorLink.objects.get()
    page.goto(live_server.url + urlsplit(donor_link_url(link)).path)
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Sign in"))
    expect(page.locator("h1")).to_have_text("Your gifts")
    home = page.url
    again = _resend(page, sent)
    assert again.url == home

    # Pause: sent again, the first pause stands.
    page.goto(home)
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Pause the monthly gift"))
    expect(page.get_by_role("button", name="Resume the monthly gift")).to_be_visible()
    pledge.refresh_from_db()
    paused_at = pledge.paused_at
    assert paused_at is not None
    _resend(page, sent)
    pledge.refresh_from_db()
    assert pledge.paused_at == paused_at

    # The address: sent again, the same address.
    page.goto(home)
    page.locator("textarea[name=address]").fill("9 New Road\nToronto ON M4M 2B2")
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Save the address"))
    _resend(page, sent)
    pledge.refresh_from_db()
    assert pledge.address.replace("\r\n", "\n") == "9 New Road\nToronto ON M4M 2B2"

    # Stop: Back and again, and the page says nothing alarming.
    page.goto(home)
    sent = _click_and_keep_the_post(page, page.get_by_role("button", name="Stop the monthly gift"))
    again = _resend(page, sent)
    pledge.refresh_from_db()
    assert pledge.status == "cancelled"
    assert "Only a monthly gift that is still running" not in again.text()
