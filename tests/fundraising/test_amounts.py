"""Amounts typed on the public page, in the page's language (one parser: forms.parse_amount)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from fundraising.forms import parse_amount
from fundraising.models import Pledge
from tests.fundraising.test_campaign_page import valid_data

NNBSP = "\u202f"  # narrow no-break space, what French number formatting uses
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("50,00", "50.00"),
        ("1 000,50", "1000.50"),
        (f"1{NNBSP}000,50", "1000.50"),
        (f"1{NBSP}000,50{NBSP}$", "1000.50"),
        ("50.25", "50.25"),
        ("５０", "50.00"),
        ("１ ０００,５", "1000.50"),
        ("25 $", "25.00"),
    ],
)
def test_it_reads_french_formats(raw, expected):
    assert parse_amount(raw, "fr") == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("50.25", "50.25"), ("$1,000.50", "1000.50"), ("５０", "50.00"), ("５０．２５", "50.25")],
)
def test_it_reads_english_and_korean_formats(raw, expected):
    assert parse_amount(raw, "en") == Decimal(expected)
    assert parse_amount(raw, "ko") == Decimal(expected)


@pytest.mark.parametrize("raw", ["50,00", "1 000,50", "1.000,50", "5,0,0", "١٠", "1e3", "-5"])
def test_it_refuses_what_english_does_not_write(raw):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        parse_amount(raw, "en")
    assert exc.value.code == "format"


def test_its_format_message_is_in_the_page_language():
    with translation.override("fr"):
        with pytest.raises(ValidationError) as exc:
            parse_amount("cinquante", "fr")
        assert "50,25" in str(exc.value.messages[0])
    with translation.override("ko"):
        with pytest.raises(ValidationError) as exc:
            parse_amount("오십", "ko")
        assert "달러 금액을 입력하세요" in str(exc.value.messages[0])


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("100000,01", "fr"),
        ("150 000", "fr"),
        ("150 000", "en"),  # a French way of writing it on the English page
        ("150,000", "en"),
        ("１５００００", "ko"),
        ("1,000,000.00", "fr"),  # an English way of writing it on the French page
        ("99999999999999999", "en"),
    ],
)
def test_it_gives_the_large_gift_message_however_the_amount_is_typed(raw, language):
    with translation.override(language), pytest.raises(ValidationError) as exc:
        parse_amount(raw, language)
    assert exc.value.code == "max"


def test_it_says_the_limit_in_french_digits():
    with translation.override("fr"), pytest.raises(ValidationError) as exc:
        parse_amount("200000", "fr")
    assert f"100{NBSP}000" in exc.value.messages[0]


@pytest.mark.django_db
def test_a_french_donor_pledges_fifty_dollars_typed_the_french_way(client, campaign):
    response = client.post(
        reverse("fundraising:campaign", args=[campaign.slug]),
        valid_data(amount_choice="other", other_amount="50,00"),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 302
    assert Pledge.objects.get().amount == Decimal("50.00")


@pytest.mark.django_db
def test_the_large_gift_message_shows_on_the_korean_page(client, campaign):
    response = client.post(
        reverse("fundraising:campaign", args=[campaign.slug]),
        valid_data(amount_choice="other", other_amount="２００，０００"),
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert "직접 도와드리겠습니다" in response.content.decode()
    assert not Pledge.objects.exists()
