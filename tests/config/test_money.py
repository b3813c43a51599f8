"""The `money` filter: one way to write a dollar amount per language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from core.money import format_money
from tests.factories import CampaignFactory, PledgeFactory

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the request's language active in the thread."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "$7,700.00"),
        ("fr", f"7{NBSP}700,00{NBSP}$"),
        ("fr-ca", f"7{NBSP}700,00{NBSP}$"),
        ("ko", "$7,700.00"),
    ],
)
def test_it_writes_an_amount_the_way_each_language_does(language, expected):
    assert format_money(Decimal("7700"), language) == expected


@pytest.mark.parametrize(
    ("value", "places", "en", "fr"),
    [
        (Decimal("1234567.891"), 2, "$1,234,567.89", f"1{NBSP}234{NBSP}567,89{NBSP}$"),
        (Decimal("0.005"), 2, "$0.01", f"0,01{NBSP}$"),  # half up, like floatformat
        (Decimal("-50"), 2, "-$50.00", f"-50,00{NBSP}$"),
        (Decimal("250000.00"), 0, "$250,000", f"250{NBSP}000{NBSP}$"),
        (25, 0, "$25", f"25{NBSP}$"),
        ("999.5", 0, "$1,000", f"1{NBSP}000{NBSP}$"),
    ],
)
def test_it_rounds_and_groups(value, places, en, fr):
    assert format_money(value, "en", places=places) == en
    assert format_money(value, "fr", places=places) == fr


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "$7,700.00 $25"), ("fr", f"7{NBSP}700,00{NBSP}$ 25{NBSP}$"), ("ko", "$7,700.00 $25")],
)
def test_the_filter_follows_the_active_language(language, expected):
    template = Template("{% load money %}{{ total|money }} {{ gift|money:0 }}")
    with translation.override(language):
        html = template.render(Context({"total": Decimal("7700"), "gift": Decimal("25")}))
    assert html == expected


@pytest.mark.parametrize("value", [None, "", "not a number"])
def test_the_filter_writes_nothing_for_something_not_an_amount(value):
    assert Template("{% load money %}{{ v|money }}").render(Context({"v": value})) == ""


@pytest.mark.django_db
def test_the_give_page_in_french_writes_amounts_the_french_way(client):
    campaign = CampaignFactory()  # goal 250,000; suggested 25, 50, 100, 250
    PledgeFactory(campaign=campaign, amount=Decimal("1500.00"))
    page = reverse("fundraising:campaign", args=[campaign.slug])
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9").content.decode()
    assert '<html lang="fr">' in html
    assert f"250{NBSP}000{NBSP}$" in html  # the goal
    assert f">25{NBSP}$</label>" in html  # an amount button
    assert f"1{NBSP}500{NBSP}$" in html  # pledged, not yet received
    assert "$250,000" not in html and "$25<" not in html
    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "$250,000" in english and ">$25</label>" in english
