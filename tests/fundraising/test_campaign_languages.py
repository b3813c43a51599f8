"""Campaign title, summary, story and thank-you text in English, French and Korean, falling
back to English marked lang="en"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CampaignFactory, PledgeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(db):
    return CampaignFactory(
        name="North to North",
        name_fr="Du Nord au Nord",
        summary_fr="Mettre cinq familles en sécurité.",
        story_fr="Premier paragraphe.\n\nDeuxième paragraphe.",
        thanks_text="Thank you, truly.",
        thanks_text_ko="진심으로 감사드립니다.",
    )


def page(client, campaign, language: str) -> str:
    url = reverse("fundraising:campaign", args=[campaign.slug])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_french_page_shows_the_french_texts(client, campaign):
    html = page(client, campaign, "fr")
    assert "<h1>Du Nord au Nord</h1>" in html
    assert '<p class="lead">Mettre cinq familles en sécurité.</p>' in html
    assert "Deuxième paragraphe." in html
    assert "First paragraph of the story." not in html


def test_the_korean_page_falls_back_to_english_marked_as_english(client, campaign):
    html = page(client, campaign, "ko")
    assert '<html lang="ko">' in html
    assert '<h1 lang="en">North to North</h1>' in html
    assert '<p class="lead" lang="en">Bring five families to safety.</p>' in html
    assert '<div lang="en"><p>First paragraph of the story.</p>' in html


def test_the_english_page_marks_nothing(client, campaign):
    html = page(client, campaign, "en")
    assert "<h1>North to North</h1>" in html and 'lang="en">North' not in html


def test_the_thank_you_text_follows_the_language(client, campaign):
    pledge = PledgeFactory(campaign=campaign)
    url = reverse("fundraising:pledge-thanks", args=[pledge.public_id])
    korean = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "진심으로 감사드립니다." in korean
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<div class="mb-3" lang="en"><p>Thank you, truly.</p></div>' in french


def test_staff_edit_the_three_languages_in_the_admin(admin_client, campaign):
    html = admin_client.get(
        reverse("admin:fundraising_campaign_change", args=[campaign.pk])
    ).content.decode()
    for field in ["name_fr", "name_ko", "summary_ko", "story_fr", "thanks_text_ko"]:
        assert f'name="{field}"' in html
