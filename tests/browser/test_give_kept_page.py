"""A donor's browser gets the public page answered in front of the middleware
(core/kept_pages.py) and pledges with it; in Korean too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core import kept_pages
from core.kept_pages import KeptPages
from fundraising import selectors
from fundraising.models import Pledge
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def front(live_server, settings) -> Iterator[KeptPages]:
    """The live server's application wrapped as config/wsgi.py wraps gunicorn's."""
    settings.FUNDRAISING_PAGE_LOCAL_SECONDS = 30  # off in tests unless asked for
    selectors._local_pages.clear()
    httpd = live_server.thread.httpd
    django_app = httpd.get_app()
    wrapped = kept_pages.install(django_app)
    wrapped.reached_django = []  # type: ignore[attr-defined]  # the paths Django answered

    def counting(environ, start_response):
        wrapped.reached_django.append(environ["PATH_INFO"])  # type: ignore[attr-defined]
        return django_app(environ, start_response)

    wrapped.app = counting
    httpd.set_app(wrapped)
    yield wrapped
    httpd.set_app(django_app)
    kept_pages._front = None
    selectors._local_pages.clear()


def test_a_donor_pledges_from_the_page_answered_in_front(front, live_server, tab, screenshot):
    campaign = CampaignFactory()
    address = f"{live_server.url}/give/{campaign.slug}/"
    first = tab(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    context = first.context
    first.goto(address)  # another visitor's: Django answers, the page is kept
    context.clear_cookies()
    assert len(front) == 1
    path = f"/give/{campaign.slug}/"
    assert front.reached_django.count(path) == 1

    page = context.new_page()
    answers = []
    page.on("response", lambda response: answers.append(response))
    page.goto(address)
    expect(page.locator("h1")).to_have_text(campaign.name)
    # This visit was answered in front: its own CSRF cookie, the form's token matching it.
    cookie = next(c for c in context.cookies() if c["name"] == "csrftoken")
    token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
    assert cookie["value"] and token and token != cookie["value"]
    assert answers[0].headers.get("content-security-policy")
    assert front.reached_django.count(path) == 1  # not Django: the page kept in front

    page.locator("label", has_text=re.compile(r"^\$50$")).click()
    page.get_by_label("Full name").fill("Kim Front")
    page.get_by_label("E-mail").fill("kim.front@example.org")
    page.get_by_label("I would like an official tax receipt").uncheck()
    screenshot(page, "give-kept-375-form.png", full_page=True)
    page.get_by_role("button", name="Pledge").click()
    expect(page.locator("h1")).to_have_text("Thank you for your pledge")
    assert Pledge.objects.filter(donor_name="Kim Front", amount=50).count() == 1

    first = tab(viewport=PHONE, locale="ko-KR", extra_http_headers={"Accept-Language": "ko"})
    korean = first.context
    first.goto(address)
    korean.clear_cookies()
    page = korean.new_page()
    page.goto(address)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert len(front) == 2
    assert front.reached_django.count(path) == 3  # the pledge, and the first Korean visit
    screenshot(page, "give-kept-375-ko.png", full_page=True)
