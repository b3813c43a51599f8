"""The portal's look in Debian's Chromium: its buttons wear the public page's colour (not
Bootstrap's default blue), and on a phone its section tabs never leave one tab alone on a
line, in any language. Screenshots at 375 and 1280 px."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOOTSTRAP_BLUE = "rgb(13, 110, 253)"


def _signed_in_tab(tab, live_server, user, *, width: int, locale: str = "en-US"):
    client = Client()
    client.force_login(user)
    page = tab(locale=locale, viewport={"width": width, "height": 900})
    session = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    return page


def _background(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("el => getComputedStyle(el).backgroundColor")


def test_portal_buttons_wear_the_public_page_s_colour(
    live_server, tab, treasurer, sponsorship, screenshot
):
    campaign = CampaignFactory()
    public = tab(viewport={"width": 1280, "height": 900})
    public.goto(live_server.url + reverse("fundraising:campaign", args=[campaign.slug]))
    public_blue = _background(public, ".btn-primary")

    page = _signed_in_tab(tab, live_server, treasurer, width=1280)
    page.goto(live_server.url + reverse("portal:income-support", args=[sponsorship.public_id]))
    portal_blue = _background(page, "main .btn-primary")
    screenshot(page, "portal-income-support-1280.png", full_page=True)

    assert public_blue == "rgb(11, 83, 148)"
    assert portal_blue == public_blue != BOOTSTRAP_BLUE


@pytest.mark.parametrize(
    ("locale", "language"), [("en-US", "en"), ("fr-FR", "fr"), ("ko-KR", "ko")]
)
def test_on_a_phone_no_section_tab_is_alone_on_its_line(
    live_server, tab, member, sponsorship, screenshot, locale, language
):
    page = _signed_in_tab(tab, live_server, member, width=375, locale=locale)
    page.goto(live_server.url + reverse("portal:reviews", args=[sponsorship.public_id]))
    assert page.locator("html").get_attribute("lang") == language
    boxes = [link.bounding_box() for link in page.locator(".portal-tabs .nav-link").all()]
    assert len(boxes) >= 5
    rows: dict[int, list[dict]] = {}
    for box in boxes:
        rows.setdefault(round(box["y"] / 4), []).append(box)
    counts = [len(row) for row in rows.values()]
    assert min(counts) > 1, f"a tab alone on a line: {counts}"
    for box in boxes:  # each tab inside the screen and tall enough for a thumb
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert box["height"] >= 24
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, f"portal-tabs-375-{language}.png")
