"""The staff dashboard and a report in Debian's Chromium, with the demo data; screenshots."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, email: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_program_manager_sees_the_program_at_a_glance(live_server, page, screenshot):
    call_command("seed_demo", "--force")
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    _sign_in(page, live_server, "manager@demo.hanvoice.test")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/")
    assert page.locator("h1").count() == 1
    timeline = page.get_by_role("group", name="Support periods of the active sponsorships")
    expect(timeline).to_be_visible()
    expect(page.get_by_role("group", name="Families by status")).to_be_visible()
    expect(page.get_by_role("group", name="Money received per month")).to_be_visible()
    meter = page.get_by_role("img", name="North to North: received and pledged against the goal")
    expect(meter).to_be_visible()
    screenshot(page, "admin-dashboard.png", full_page=True)
    # No CSP violation, no missing file (the browser's own favicon guess aside).
    assert not [e for e in errors if "favicon.ico" not in e], errors

    page.get_by_role("link", name="Arrived in Canada").first.click()
    page.wait_for_url("**/admin/families/family/?status__exact=arrived")

    page.goto(f"{live_server.url}/admin/reports/program/")
    screenshot(page, "admin-report-program.png", full_page=True)
    page.get_by_label("From", exact=True).fill("2026-05-01")
    page.get_by_label("To", exact=True).fill("2026-04-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    screenshot(page, "admin-report-refused.png", full_page=True)

    # On a phone the group report's wide table scrolls in its region, headings whole: one
    # line of text is ~20 px; a heading broken letter by letter was hundreds of pixels tall.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/admin/reports/groups/")
    # The section and, inside it, the table's scrolling box share the heading as their name.
    region = page.get_by_role("region", name="By sponsor group", exact=True).last
    first_heading = region.get_by_role("columnheader").first
    assert first_heading.bounding_box()["height"] < 60
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls, not squeezes
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "admin-report-groups-375.png", full_page=True)


def test_fundraising_staff_see_the_money_only(live_server, page, screenshot):
    call_command("seed_demo", "--force")
    _sign_in(page, live_server, "fundraising@demo.hanvoice.test")
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("group", name="Money received per month")).to_be_visible()
    assert "NK-" not in page.content()
    screenshot(page, "admin-dashboard-fundraising.png", full_page=True)
    page.goto(f"{live_server.url}/admin/reports/fundraising/")
    screenshot(page, "admin-report-fundraising.png", full_page=True)
