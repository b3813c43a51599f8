"""Redis down must cost speed, never a pledge: the cache reads as a miss (core/cache.py)."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from fundraising.models import DonorEmail, Pledge
from tests.factories import CampaignFactory

# Port 9 (discard) on loopback: nothing listens, connections are refused at once.
DEAD_REDIS = {
    "default": {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@override_settings(CACHES=DEAD_REDIS)
def test_it_reads_a_dead_redis_as_a_miss_and_drops_writes():
    cache = caches["default"]
    cache.set("k", "v", 30)
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1, 30) is False
    assert cache.get_many(["k"]) == {}
    with pytest.raises(ValueError):
        cache.incr("k")
    assert cache.delete("k") is False


@pytest.mark.django_db
@override_settings(CACHES=DEAD_REDIS)
def test_it_shows_the_page_and_saves_the_pledge_while_redis_is_down(client):

    campaign = CampaignFactory()
    url = reverse("fundraising:campaign", args=[campaign.slug])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "idempotency_key": str(uuid.uuid4()),
            "website": "",
            "amount_choice": "50",
            "frequency": "one_time",
            "months": "1",
            "donor_name": "Ada Example",
            "email": "ada@example.org",
            "address": "",
            "show_name": "show",
        },
    )
    assert response.status_code == 302
    pledge = Pledge.objects.get(campaign=campaign)
    assert DonorEmail.objects.filter(pledge=pledge, kind=DonorEmail.Kind.CONFIRMATION).exists()
