"""On a phone, a form sent with mistakes opens on a summary of them (the GOV.UK pattern):
focused, at the top of the screen, each mistake a link that puts the cursor in its field."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


def _summary_has_focus_on_screen(page) -> None:
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    box = summary.bounding_box()
    assert -1 <= box["y"] < PHONE["height"] / 2, box  # in view (to the subpixel), near the top


def test_the_check_in_form_opens_on_its_errors(live_server, page, sponsorship, coordinator):
    client = Client()
    client.force_login(coordinator)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/check-ins/new/")
    page.get_by_label("Date").fill("")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    _summary_has_focus_on_screen(page)
    page.locator("[data-error-summary] a", has_text=re.compile("Who took part")).click()
    expect(page.get_by_label("Who took part")).to_be_focused()


def test_the_pledge_form_opens_on_its_errors(live_server, page, screenshot):
    campaign = CampaignFactory()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/give/{campaign.slug}/")
    page.get_by_role("button", name="Pledge").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    _summary_has_focus_on_screen(page)
    screenshot(page, "give-375-error-summary.png")


def test_the_sign_in_form_opens_on_its_errors(live_server, page):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    _summary_has_focus_on_screen(page)
