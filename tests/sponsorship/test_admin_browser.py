"""The staff admin in Debian's Chromium, with screenshots to look at."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from families.models import Family
from sponsorship import demo
from sponsorship.models import Sponsorship

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, email: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_case_worker_works_through_the_admin(live_server, page, screenshot):
    demo.seed()
    _sign_in(page, live_server, "caseworker@demo.hanvoice.test")

    page.goto(f"{live_server.url}/admin/families/family/")
    assert page.locator("h1").count() == 1
    expect(page.get_by_text("month 11 of 12")).to_be_visible()
    assert "Kimdemo" not in page.content()
    screenshot(page, "admin-families.png", full_page=True)

    s = Sponsorship.objects.get(family__status="arrived", extensions__isnull=False)
    page.goto(f"{live_server.url}/admin/sponsorship/sponsorship/{s.pk}/change/")
    expect(page.get_by_text("Owed this month", exact=True)).to_be_visible()
    screenshot(page, "admin-sponsorship.png", full_page=True)

    page.goto(f"{live_server.url}/admin/sponsorship/sponsorship/")
    screenshot(page, "admin-sponsorships.png", full_page=True)

    approved = Family.objects.get(status="vetting")
    page.goto(f"{live_server.url}/admin/families/family/")
    page.locator(f"input[name=_selected_action][value='{approved.pk}']").check()
    page.select_option("select[name=action]", "approve")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("IRCC vetting reference").fill("DEMO-IRCC-B")
    page.get_by_label("IRCC vetting completed on").fill("2026-01-05")
    screenshot(page, "admin-approve-form.png", full_page=True)
    page.get_by_role("button", name="Approve").click()
    screenshot(page, "admin-approved.png", full_page=True)
    page.get_by_text("done for 1").wait_for()
    approved.refresh_from_db()
    assert approved.status == Family.Status.APPROVED


@pytest.mark.parametrize("width", [375, 1280])
def test_the_staff_page_and_the_portal_show_the_same_money(live_server, page, screenshot, width):
    demo.seed()
    s = Sponsorship.objects.filter(arrival_date__isnull=False, outcome="active").first()
    treasurer = s.group.memberships.filter(role="treasurer").first() or s.group.memberships.first()
    page.set_viewport_size({"width": width, "height": 900})

    _sign_in(page, live_server, "caseworker@demo.hanvoice.test")
    page.goto(f"{live_server.url}/admin/sponsorship/sponsorship/{s.pk}/change/")
    staff_row = page.locator("tr", has_text="Owed this month").first
    staff_owed = staff_row.locator("td").inner_text()
    screenshot(page, f"budget-admin-{width}.png", full_page=True)

    page.context.clear_cookies()
    _sign_in(page, live_server, treasurer.user.email)
    page.goto(f"{live_server.url}/portal/{s.public_id}/income-support/")
    box = page.get_by_text("Owed this month", exact=True).locator("xpath=..")
    assert staff_owed in box.inner_text()
    screenshot(page, f"budget-portal-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_family_page_fits_the_window_with_its_consents_in_view(
    live_server, page, screenshot, width
):
    """The consents were a row of seven fields: the family page was 1,907 px wide at 1280 px.
    The page fits the window, and no inline table on it hides columns behind a scroll bar at
    1280 px."""
    demo.seed()
    family = Family.objects.filter(consents__isnull=False).first()
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, live_server, "manager@demo.hanvoice.test")
    page.goto(f"{live_server.url}/admin/families/family/{family.pk}/change/")
    expect(page.locator("#consents-group")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 1280:
        hidden = page.evaluate(
            "() => [...document.querySelectorAll('.inline-group .tabular')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.closest('.inline-group').id)"
        )
        assert not hidden, hidden
        details = page.locator("#consents-group textarea[name$='-details']").first
        box, window = details.bounding_box(), page.viewport_size
        assert box["x"] + box["width"] <= window["width"], box
    screenshot(page, f"admin-family-consents-{width}.png", full_page=True)


def test_the_sponsorship_page_shows_every_inline_tables_columns_at_1280(
    live_server, page, screenshot
):
    """The plan's items and the disbursements hid their last columns behind a scroll bar at
    1280 px (content 901 px wide beside the admin's menu): selects, number boxes and
    read-only values now give way first. Each row's title line stays whole."""
    demo.seed()
    s = Sponsorship.objects.filter(arrival_date__isnull=False, outcome="active").first()
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, "manager@demo.hanvoice.test")
    page.goto(f"{live_server.url}/admin/sponsorship/sponsorship/{s.pk}/change/")
    expect(page.locator("#milestones-group")).to_be_visible()
    hidden = page.evaluate(
        "() => [...document.querySelectorAll('.inline-group .tabular')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.closest('.inline-group').id)"
    )
    assert not hidden, hidden
    title = s.milestones.order_by("due_on", "pk").first().title
    expect(page.locator("#milestones-group td.original p").first).to_contain_text(title)
    screenshot(page, "admin-sponsorship-inlines-1280.png", full_page=True)
