"""A treasurer's first evening with the portal, in Debian's Chromium: accept the invitation,
set a password, sign in, tick a milestone off, log a check-in, record a payment and switch
to Korean. `make screenshots` keeps pictures at a phone width (375 px) and a desktop width."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from sponsorship import portal_services
from sponsorship.models import CheckIn, Disbursement, Membership, Review

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "maple circle evenings 2026"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_treasurer_joins_and_runs_the_plan_on_a_phone(
    live_server, page, screenshot, sponsorship, case_worker
):
    _invitation, token = portal_services.invitation_create(
        email="tess.new@example.org",
        group=sponsorship.group,
        role="treasurer",
        invited_by=case_worker,
    )
    page.set_viewport_size(PHONE)

    # Accept the invitation and set a password.
    page.goto(f"{live_server.url}/portal/invitations/{token}/")
    expect(page.locator("h1")).to_have_text(f"Join {sponsorship.group.name}")
    page.get_by_label("First name").fill("Tess")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    screenshot(page, "portal-phone-1-invitation.png", full_page=True)
    page.get_by_role("button", name="Set my password and join").click()
    expect(page.get_by_text("Welcome to")).to_be_visible()

    # Sign out, then sign in with the e-mail address.
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("E-mail address")).to_be_visible()  # signed out before going on
    page.goto(f"{live_server.url}/portal/")
    page.get_by_label("E-mail address").fill("Tess.New@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your sponsorship")
    expect(page.get_by_text("Month 4 of 12").first).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "portal-phone-2-dashboard.png", full_page=True)

    # Tick a milestone off.
    page.get_by_role("link", name="The whole settlement plan").click()
    expect(page.locator("h1")).to_have_text("Settlement plan")
    page.get_by_role("link", name="Bank account opened").click()
    page.get_by_label("Note (optional)").fill("Opened at the branch on Bloor")
    screenshot(page, "portal-phone-3-milestone.png", full_page=True)
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("Marked done. Thank you!")).to_be_visible()
    expect(page.get_by_text("Opened at the branch on Bloor")).to_be_visible()
    assert sponsorship.milestones.get(title="Bank account opened").completed_on is not None

    # Log a check-in.
    page.get_by_role("link", name="Check-ins").click()
    page.get_by_role("link", name="Log a visit or call").click()
    page.get_by_label("Who took part").fill("Tess and the whole family")
    page.get_by_label("Coping").check()
    page.get_by_label("Summary (optional)").fill("Groceries done; the kids like school.")
    _no_sideways_scroll(page)
    screenshot(page, "portal-phone-4-checkin.png", full_page=True)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved")).to_be_visible()
    expect(page.get_by_text("the kids like school")).to_be_visible()
    assert CheckIn.objects.filter(sponsorship=sponsorship).count() == 1

    # Record a payment; a refused amount first.
    page.get_by_role("link", name="Income support").click()
    page.get_by_role("link", name="Record a payment").click()
    page.get_by_label("Amount (CAD)").fill("99999")
    page.get_by_role("button", name="Record payment").click()
    # The refusal stands in the summary at the top (a link to the field) and next to the field.
    expect(page.get_by_role("link", name="Amount (CAD): That is more than twice")).to_be_visible()
    expect(page.locator("strong", has_text="more than twice the plan")).to_be_visible()
    screenshot(page, "portal-phone-5-payment-error.png", full_page=True)
    page.get_by_label("Amount (CAD)").fill("1100")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    assert Disbursement.objects.get(sponsorship=sponsorship).amount == 1100
    _no_sideways_scroll(page)
    screenshot(page, "portal-phone-6-income.png", full_page=True)

    # Switch to Korean.
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    language = page.locator("#language-select")  # its label is now in Korean
    expect(language).to_have_value("ko")
    page.goto(f"{live_server.url}/portal/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("body")).to_contain_text(re.compile(r"\d+년 \d+월 \d+일"))
    screenshot(page, "portal-phone-7-korean.png", full_page=True)

    # The same at a desktop width.
    page.set_viewport_size(DESKTOP)
    screenshot(page, "portal-desktop-dashboard-ko.png", full_page=True)
    language.select_option("en")
    page.locator("form.language-switcher button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/income-support/")
    screenshot(page, "portal-desktop-income.png", full_page=True)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/plan/")
    screenshot(page, "portal-desktop-plan.png", full_page=True)


def test_the_review_chart_renders_under_csp(live_server, page, screenshot, sponsorship):
    from django.contrib.auth import get_user_model

    for index, review in enumerate(sponsorship.reviews.order_by("scheduled_for")[:3]):
        Review.objects.filter(pk=review.pk).update(
            held_on=review.scheduled_for,
            outcome="on_track",
            income=2 + index,
            housing=3,
            language=1 + index,
            employment=1 + index // 2,
            health=4,
            social=2 + index,
        )
    user = get_user_model().objects.create_user(
        username="m@example.org", email="m@example.org", password=PASSWORD
    )
    Membership.objects.create(user=user, group=sponsorship.group, role="coordinator")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill("m@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your sponsorship")
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/reviews/")
    expect(page.locator("svg[role=img] polyline").first).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "portal-phone-reviews.png", full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors

    # Labels readable at both widths: at 375 px the chart keeps its size and its own box
    # scrolls (the SVG squeezed into the screen drew its 13 px labels at ~7 px).
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/reviews/")
        labels = page.locator(".score-chart svg[role=img] text.tick")
        assert labels.count() >= 8  # five score ticks and three review labels
        smallest = min(labels.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)"))
        # A text box is ~1.2 x its font size; 12 px text has a box of at least 12 px.
        assert smallest >= 12, f"labels drawn {smallest:.1f} px high at {viewport['width']} px"
        month_3 = page.locator(".score-chart svg text.tick", has_text="Month 3 review")
        assert month_3.evaluate("e => e.getBoundingClientRect().height") >= 12
        _no_sideways_scroll(page)
        box = page.locator(".score-chart-box")
        if viewport is PHONE:
            assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls, in its box
            box.focus()  # the scrolling box is reachable by keyboard (arrow keys scroll it)
            page.keyboard.press("ArrowRight")
        screenshot(page, f"portal-reviews-chart-{viewport['width']}.png", full_page=True)


def test_the_kept_dashboard_s_forms_carry_this_visit_s_token(
    live_server, page, screenshot, sponsorship, coordinator
):
    """The dashboard is kept whole and served again with the visit's own CSRF token: its
    language switcher and its sign-out button post with that token and work."""
    client = Client()
    client.force_login(coordinator)
    session = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page.set_viewport_size(DESKTOP)
    for _ in range(2):  # the first visit renders and keeps the page; the second is served it
        page.goto(f"{live_server.url}/portal/")
        expect(page.locator("h1")).to_have_text("Your sponsorship")
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("h1")).to_have_text("우리 그룹의 후원")
    page.reload()  # the Korean page, kept in its turn
    expect(page.get_by_text(sponsorship.family.case_code).first).to_be_visible()
    screenshot(page, "portal-desktop-kept-ko.png", full_page=True)
    page.get_by_role("button", name="로그아웃").click()
    expect(page.locator("input[name=username]")).to_be_visible()
    page.goto(f"{live_server.url}/portal/")
    expect(page.locator("input[name=username]")).to_be_visible()  # signed out for good
