"""Seeded milestone and review titles are shown in the reader's language; the database keeps
English, and a title a group typed is shown as written."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from sponsorship import catalogue_strings
from sponsorship.models import Milestone

seed = importlib.import_module("sponsorship.migrations.0002_seed_catalogues")


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the request's language active in the thread."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_the_strings_module_lists_exactly_what_the_migration_seeds():
    titles = [title for _, title, _, _, _ in seed.MILESTONES]
    descriptions = {d for _, _, d, _, _ in seed.MILESTONES if d}
    labels = [label for label, _, _ in seed.REVIEWS]
    assert titles == catalogue_strings.MILESTONE_TITLES
    assert set(catalogue_strings.MILESTONE_DESCRIPTIONS) == descriptions
    assert labels == catalogue_strings.REVIEW_LABELS


@pytest.mark.parametrize("language", ["fr", "ko"])
def test_every_seeded_text_has_a_translation(language):
    texts = [
        *catalogue_strings.MILESTONE_TITLES,
        *catalogue_strings.MILESTONE_DESCRIPTIONS,
        *catalogue_strings.REVIEW_LABELS,
    ]
    with translation.override(language):
        untranslated = [text for text in texts if catalogue_strings.catalogue_text(text) == text]
    assert untranslated == []


def test_the_filter_translates_a_catalogue_title_and_leaves_a_typed_one_alone():
    template = Template("{% load catalogue %}{{ a|catalogue }} | {{ b|catalogue }}")
    context = Context({"a": "Bank account opened", "b": "Meet Mrs <Kim> at the bank"})
    with translation.override("ko"):
        assert template.render(context) == "은행 계좌 개설 | Meet Mrs &lt;Kim&gt; at the bank"


@pytest.mark.django_db
def test_the_plan_in_korean_shows_the_korean_title_of_a_seeded_milestone(
    client, member, sponsorship
):
    assert sponsorship.milestones.filter(title="Bank account opened").exists()
    client.force_login(member)
    response = client.get(
        reverse("portal:plan", args=[sponsorship.public_id]), HTTP_ACCEPT_LANGUAGE="ko"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ko">' in html
    assert "은행 계좌 개설" in html
    assert "Bank account opened" not in html
    # The database keeps English: only the display is translated.
    assert Milestone.objects.filter(sponsorship=sponsorship, title="Bank account opened").exists()


@pytest.mark.django_db
def test_the_milestone_page_in_french_shows_the_french_title_and_description(
    client, member, sponsorship
):
    milestone = sponsorship.milestones.get(title="Permanent housing")
    client.force_login(member)
    html = client.get(
        reverse("portal:milestone", args=[milestone.public_id]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Logement permanent" in html
    assert "Pratique du PAR" in html


@pytest.mark.django_db
def test_a_title_the_group_typed_is_shown_as_written_in_korean(client, member, sponsorship):
    Milestone.objects.create(
        sponsorship=sponsorship,
        title="Winter boots for Minji",
        due_on=sponsorship.arrival_date,
        added_by_group=True,
    )
    client.force_login(member)
    html = client.get(
        reverse("portal:plan", args=[sponsorship.public_id]), HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "Winter boots for Minji" in html
