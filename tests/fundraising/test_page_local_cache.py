"""The public page's per-process copy (FUNDRAISING_PAGE_LOCAL_SECONDS): a hit needs neither a
query nor the shared cache, and a pledge in this process shows on the next view at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from fundraising import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_local_pages():
    selectors._local_pages.clear()
    yield
    selectors._local_pages.clear()


@override_settings(FUNDRAISING_PAGE_LOCAL_SECONDS=5)
def test_it_serves_a_repeat_view_from_the_process_without_the_shared_cache(
    client, campaign, django_assert_num_queries
):
    url = reverse("fundraising:campaign", args=[campaign.slug])
    first = client.get(url)
    cache.clear()  # as if Redis had evicted it (or were unreachable)
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    assert second.content.count(b"<h1") == 1
    # Fresh tokens for every visitor, even from the local copy.
    token = 'name="idempotency_key" value="'
    assert (
        first.content.decode().split(token)[1][:36] != second.content.decode().split(token)[1][:36]
    )


@override_settings(FUNDRAISING_PAGE_LOCAL_SECONDS=5)
def test_it_shows_a_new_pledge_on_the_next_view(
    client, campaign, django_capture_on_commit_callbacks
):
    url = reverse("fundraising:campaign", args=[campaign.slug])
    assert "$1,234" not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        pledge = services.pledge_create(
            campaign=campaign,
            donor_name="Ada Example",
            email="ada@example.org",
            amount=Decimal("1234"),
            wants_receipt=False,
            send_confirmation=False,
        )
    assert "$1,234" not in client.get(url).content.decode()  # not confirmed: counts for nothing
    with django_capture_on_commit_callbacks(execute=True):
        services.pledge_confirm(token=services.pledge_confirm_token(pledge))
    assert "$1,234" in client.get(url).content.decode()


def test_it_keeps_no_copy_when_turned_off(client, campaign):
    client.get(reverse("fundraising:campaign", args=[campaign.slug]))
    assert selectors._local_pages == {}
