"""Admin date inputs in Debian's Chromium: the picker shows the browser's own order (mm/dd/yyyy
here, whatever the page's language), so the hint under it says the chosen date in words; a
French case worker typing 03/04/2026 for 3 April reads "mercredi 4 mars 2026" before saving."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMPTY = {
    "en": "No date chosen: pick one in the calendar, then check it here in words.",
    "fr": (
        "Aucune date choisie : choisissez-la dans le calendrier, "
        "puis vérifiez-la ici en toutes lettres."
    ),
    "ko": "선택한 날짜가 없습니다. 달력에서 고른 뒤 여기에 글로 적힌 날짜를 확인하세요.",
}


@pytest.mark.parametrize(
    ("locale", "language", "typed", "words"),
    [
        # The picker follows the browser's own language, not the page's: the same keys are
        # 4 March in every page, and the words say so in the reader's language.
        ("en-US", "en", "03042026", "Wednesday, March 4, 2026"),
        ("fr-FR", "fr", "03042026", "mercredi 4 mars 2026"),
        ("ko-KR", "ko", "03042026", "2026년 3월 4일 수요일"),
    ],
)
def test_a_typed_date_is_written_out_in_words_before_it_is_saved(
    live_server, tab, fundraiser, screenshot, locale, language, typed, words
):
    client = Client()
    client.force_login(fundraiser)
    session = client.cookies["sessionid"].value
    for width in (1280, 375):
        page = tab(locale=locale, viewport={"width": width, "height": 900})
        page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page.goto(f"{live_server.url}/admin/fundraising/payment/add/")
        assert page.locator("html").get_attribute("lang") == language
        date = page.locator("input[type=date]").first
        hint = page.locator(f"#{date.get_attribute('id')}_format")
        expect(hint).to_have_text(EMPTY[language])
        # The hint names no order of day and month (it cannot know the browser's).
        assert "2026-03-04" not in hint.inner_text()
        date.focus()  # the first part of the date, whichever the browser puts first
        page.keyboard.type(typed)
        expect(hint).to_have_text(words)
        # The input describes itself with the hint: a screen reader hears the words too.
        assert date.get_attribute("id") + "_format" in date.get_attribute("aria-describedby")
        screenshot(page, f"admin-date-words-{language}-{width}.png")
        date.fill("")
        expect(hint).to_have_text(EMPTY[language])
