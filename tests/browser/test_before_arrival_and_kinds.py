"""Before arrival, the kinds and the RAP floor in Debian's Chromium, with the demo data;
screenshots at phone and desktop widths."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from sponsorship.models import RapRate, Sponsorship

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (375, 1280)


def _sign_in(page, live_server, email: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _shoot(page, screenshot, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}.png", full_page=True)


def test_the_group_sees_the_flight_coming_and_what_to_prepare(live_server, page, screenshot):
    call_command("seed_demo", "--force")
    waiting = Sponsorship.objects.get(arrival_date__isnull=True)
    _sign_in(page, live_server, "coordinator.maplewood@demo.hanvoice.test")
    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_text(f"Arriving in {waiting.days_to_arrival()} days").first).to_be_visible()
    _shoot(page, screenshot, "portal-dashboard-arriving")
    page.goto(f"{live_server.url}/portal/{waiting.public_id}/")
    expect(
        page.get_by_role("heading", name="What to prepare before the family lands")
    ).to_be_visible()
    _shoot(page, screenshot, "portal-before-arrival")


def test_staff_see_the_kind_rules_and_the_rap_floor(live_server, page, screenshot):
    call_command("seed_demo", "--force")
    bvor = Sponsorship.objects.get(kind=Sponsorship.Kind.BVOR)
    RapRate.objects.create(
        community="Toronto",
        household_size=2,
        monthly_amount=Decimal("1700.00"),
        effective_from=datetime.date(2020, 1, 1),
        source="Fictional demo rate",
    )
    _sign_in(page, live_server, "treasurer.maplewood@demo.hanvoice.test")
    page.goto(f"{live_server.url}/portal/{bvor.public_id}/income-support/")
    _shoot(page, screenshot, "portal-income-bvor")
    page.goto(f"{live_server.url}/portal/{bvor.public_id}/family-income/")
    page.get_by_role("button", name="Record income").click()
    expect(page.locator(".invalid-feedback, .errorlist").first).to_be_visible()
    _shoot(page, screenshot, "portal-family-income-refused")
    _sign_in(page, live_server, "manager@demo.hanvoice.test")
    page.goto(f"{live_server.url}/admin/sponsorship/sponsorship/{bvor.pk}/change/")
    expect(page.get_by_text("Below the RAP floor", exact=True)).to_be_visible()
    expect(page.get_by_text("Month 1 planned at $1,641.67")).to_be_visible()
    assert not page.get_by_text("Month 2 planned").count()  # the government pays month 2
    _shoot(page, screenshot, "admin-sponsorship-bvor")
