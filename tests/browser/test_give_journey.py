"""A donor pledges monthly on a phone; staff record the payment and issue the receipt."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import FUNDRAISING
from fundraising.models import Payment, Pledge, Receipt
from tests.factories import CampaignFactory, PledgeFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


def test_a_donor_pledges_monthly_on_a_phone_and_staff_receipt_it(live_server, tab, screenshot):
    campaign = CampaignFactory()
    PledgeFactory(
        campaign=campaign,
        donor_name="Vera Shown",
        public_message="Welcome home",
        wall_approved_at=timezone.now(),
    )
    PledgeFactory(campaign=campaign, donor_name="Hidden Person", is_anonymous=True)

    page = tab(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/give/")
    expect(page.locator("h1")).to_have_text("North to North")
    screenshot(page, "give-375-campaign.png", full_page=True)
    screenshot(page, "give-375-top.png")

    page.get_by_text("Every month").click()
    expect(page.get_by_label("For how many months")).to_be_visible()
    page.get_by_label("For how many months").fill("6")
    page.locator("label", has_text=re.compile(r"^\$25$")).click()
    page.get_by_label("Full name").fill("Mina Example")
    page.get_by_label("E-mail").fill("mina@example.org")
    page.get_by_label("Postal address").fill("12 Example Avenue\nToronto ON M4M 1A1")
    page.get_by_label("Public message (optional)").fill("환영합니다")
    screenshot(page.locator(".hv-pledge"), "give-375-form-filled.png")
    page.get_by_role("button", name="Pledge").click()

    expect(page.locator("h1")).to_have_text("Thank you for your pledge")
    pledge = Pledge.objects.get(donor_name="Mina Example")
    assert (pledge.frequency, pledge.months, str(pledge.amount)) == ("monthly", 6, "25.00")
    expect(page.locator(".hv-reference")).to_have_text(pledge.reference)
    screenshot(page, "give-375-thanks.png", full_page=True)
    assert violations == []

    staff = StaffFactory(email="fran@hanvoice.test", roles=[FUNDRAISING])
    client = Client()
    client.force_login(staff)
    page = tab(viewport=DESKTOP)
    desktop = page.context
    desktop.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/give/{campaign.slug}/")
    screenshot(page, "give-desktop-campaign.png", full_page=True)

    widget = desktop.new_page()
    widget.set_viewport_size({"width": 340, "height": 240})
    widget.goto(f"{live_server.url}/give/{campaign.slug}/widget/")
    expect(widget.get_by_role("link", name="Give now")).to_be_visible()
    screenshot(widget, "give-widget-340.png")
    # A tab left open behind the admin's would slow every later click there: Chromium pauses
    # a background tab's animation frames, and Playwright waits on them to see a button still.
    widget.close()

    page.goto(f"{live_server.url}/admin/fundraising/pledge/?q={pledge.reference}")
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option("record_payment")
    page.get_by_role("button", name=re.compile("Go|Run")).click()
    page.get_by_label("Amount").fill("25.00")
    page.get_by_label("Method").select_option("etransfer")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("Payment recorded")
    payment = Payment.objects.get(pledge=pledge)

    page.goto(f"{live_server.url}/admin/fundraising/payment/?receipted=no")
    page.locator(f"input[name=_selected_action][value='{payment.pk}']").check()
    page.locator("select[name=action]").select_option("issue_receipt")
    page.get_by_role("button", name=re.compile("Go|Run")).click()
    expect(page.locator(".messagelist")).to_contain_text("issued and e-mailed")
    page.goto(f"{live_server.url}/admin/fundraising/receipt/")
    screenshot(page, "give-desktop-admin-receipts.png", full_page=True)
    receipt = Receipt.objects.get()
    assert receipt.payment == payment and receipt.donor_name == "Mina Example"
