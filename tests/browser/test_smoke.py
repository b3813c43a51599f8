"""Open the public page and the portal in Debian's Chromium and keep screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_give_page_and_the_portal_sign_in_render(live_server, page, screenshot):
    page.goto(f"{live_server.url}/give/")
    assert page.locator("h1").count() == 1
    screenshot(page, "smoke-give.png", full_page=True)

    page.goto(f"{live_server.url}/portal/")
    assert "/accounts/login/" in page.url
    expect(page.get_by_label("E-mail address")).to_be_visible()
    screenshot(page, "smoke-portal-login.png", full_page=True)


def test_the_skip_link_is_first_and_reaches_main(live_server, page):
    page.goto(f"{live_server.url}/give/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
