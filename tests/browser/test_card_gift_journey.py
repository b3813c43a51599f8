"""A donor gives monthly by card (Stripe stand-in on loopback), lands on the thank-you page,
then manages the gift from the self-service page; an unconfirmed pledge leaves the meter."""

from __future__ import annotations

import re

import pytest
import stripe
from django.core import mail
from django.test import override_settings
from playwright.sync_api import expect

from fundraising.models import Payment, Pledge, StripeEvent
from tests.factories import CampaignFactory
from tests.fundraising import stripe_standin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def standin(live_server):
    server = stripe_standin.start()
    server.webhook_url = f"{live_server.url}/give/stripe/webhook/"
    original = stripe.api_base
    with override_settings(
        STRIPE_SECRET_KEY="sk_test_standin",
        STRIPE_WEBHOOK_SECRET=stripe_standin.SECRET,
        STRIPE_API_BASE=server.base,
        SITE_URL=live_server.url,
    ):
        yield server
    stripe.api_base = original
    server.stop()


def pledged_figure(page) -> str:
    return (
        page.locator("dt", has_text="Pledged, not yet received").locator("xpath=../dd").inner_text()
    )


def fill_donor(page, name: str, email: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Postal address").fill("12 Example Avenue\nToronto ON M4M 1A1")


def test_a_monthly_card_gift_from_the_page_to_self_service(live_server, tab, standin, screenshot):
    campaign = CampaignFactory()
    page = tab(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page.goto(f"{live_server.url}/give/{campaign.slug}/")
    before = pledged_figure(page)

    # An unconfirmed pledge, to be paid later: the meter does not move.
    page.get_by_text("Later, by Interac e-Transfer or cheque").click()
    page.get_by_label("Other amount ($)").fill("90000")
    fill_donor(page, "Gamer Example", "gamer@example.org")
    page.get_by_role("button", name="Pledge").click()
    expect(page.locator("h1")).to_have_text("Thank you for your pledge")
    page.goto(f"{live_server.url}/give/{campaign.slug}/")
    assert pledged_figure(page) == before
    assert Pledge.objects.get(email="gamer@example.org").confirmed_at is None

    # The monthly card gift.
    page.get_by_text("Every month").click()
    page.get_by_label("For how many months").fill("6")
    page.locator("label", has_text=re.compile(r"^\$25$")).click()
    page.get_by_text("By card, now").click()
    page.get_by_label("Add the card processing fee").check()
    fill_donor(page, "Mina Example", "mina@example.org")
    screenshot(page.locator(".hv-pledge"), "card-375-form.png")
    page.get_by_role("button", name="Pledge").click()

    expect(page.locator("h1")).to_have_text("Stand-in payment page")
    page.get_by_role("button", name="Pay").click()

    expect(page.locator("h1")).to_have_text("Thank you for your pledge")
    expect(page.get_by_text("Your card payment has been received.")).to_be_visible()
    screenshot(page, "card-375-thanks.png", full_page=True)
    pledge = Pledge.objects.get(email="mina@example.org")
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.method, str(payment.amount)) == ("card", "26.06")  # 25 + fee
    assert pledge.stripe_subscription_id.startswith("sub_test_")
    assert StripeEvent.objects.filter(pledge=pledge).count() == 2

    # Self-service: a sign-in link by e-mail, then the gift.
    page.get_by_role("link", name="Manage your gifts").click()
    page.get_by_label("Your e-mail address").fill("mina@example.org")
    page.get_by_role("button", name="E-mail me a sign-in link").click()
    expect(page.get_by_text("a sign-in link is on its way")).to_be_visible()
    link = re.search(r"http://\S+/give/donor/link/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your gifts")
    expect(page.locator(".hv-donor-pledge")).to_contain_text(pledge.reference)
    expect(page.get_by_role("cell", name="$26.06")).to_be_visible()
    screenshot(page, "donor-375-home.png", full_page=True)
    page.get_by_role("button", name="Pause the monthly gift").click()
    expect(page.get_by_role("button", name="Resume the monthly gift")).to_be_visible()
    assert ("POST", f"/v1/subscriptions/{pledge.stripe_subscription_id}") in [
        (method, path) for method, path, _body in standin.requests
    ]

    page = tab(viewport=DESKTOP)
    page.goto(f"{live_server.url}/give/{campaign.slug}/")
    screenshot(page, "card-1280-campaign.png", full_page=True)
    page.goto(f"{live_server.url}/give/donor/")
    screenshot(page, "donor-1280-start.png")
