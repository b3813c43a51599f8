"""Redis down must cost speed, never a pledge: the cache reads as a miss and the rate limits
let requests through (django-redis with IGNORE_EXCEPTIONS, as config/settings.py sets it)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse
from django_ratelimit.core import get_usage, is_ratelimited

from core.logfilters import Throttle
from fundraising.models import DonorEmail, Pledge
from tests.factories import CampaignFactory

# Port 9 (discard) on loopback: nothing listens, connections are refused at once.
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {
            **settings.CACHES["default"].get("OPTIONS", {}),
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
        },
    }
}


def test_the_settings_turn_a_redis_url_into_a_cache_that_ignores_outages():
    """What production gets from CACHE_URL=redis://...: read in a fresh interpreter, since
    the test settings use the in-memory cache."""
    code = (
        "import json; from config import settings as s; "
        "print(json.dumps([s.CACHES['default'], s.DJANGO_REDIS_LOGGER]))"
    )
    env = {**os.environ, "CACHE_URL": "redis://127.0.0.1:9/3", "DJANGO_DEBUG": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    cache, logger_name = json.loads(out.strip().splitlines()[-1])
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert cache["OPTIONS"]["SOCKET_TIMEOUT"] <= 1
    assert logger_name == "core.cache"


def test_an_outage_is_logged_once_per_half_minute_without_a_traceback():
    throttle = Throttle(30)
    try:
        raise ConnectionRefusedError("refused")
    except ConnectionRefusedError:
        records = [
            logging.LogRecord("core.cache", logging.ERROR, __file__, 1, "Exception ignored", (), e)
            for e in [sys.exc_info()] * 3
        ]
    passed = [r for r in records if throttle.filter(r)]
    assert len(passed) == 1
    assert passed[0].exc_info is None and passed[0].levelname == "WARNING"
    assert (
        passed[0].getMessage() == "cache unavailable (ConnectionRefusedError): serving without it"
    )


@override_settings(CACHES=DEAD_REDIS)
def test_it_reads_a_dead_redis_as_a_miss_and_drops_writes(caplog):
    cache = caches["default"]
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        cache.set("k", "v", 30)
        assert cache.get("k", "default") == "default"
        assert not cache.add("k", 1, 30)
        assert cache.get_many(["k"]) == {}
        assert cache.incr("k") is None  # not a count: django-ratelimit fails open on it
        assert not cache.delete("k")
    # Said at most once (the filter may have spoken for this process already), no traceback.
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) <= 1 and all(r.exc_info is None for r in warnings)


@override_settings(CACHES=DEAD_REDIS, RATELIMIT_FAIL_OPEN=True)
def test_rate_limits_fail_open_while_redis_is_down(rf):
    request = rf.post("/give/x/", REMOTE_ADDR="192.0.2.1")
    for _ in range(3):  # a limit of 1 a minute, never reached: the counter cannot be read
        assert get_usage(request, group="t", key="ip", rate="1/m", increment=True) is None
        assert not is_ratelimited(request, group="t", key="ip", rate="1/m", increment=True)


@override_settings(CACHES=DEAD_REDIS, RATELIMIT_FAIL_OPEN=False)
def test_without_fail_open_the_same_outage_would_refuse_everyone(rf):
    """The control for the test above: it is the setting, not luck, that lets requests in."""
    request = rf.post("/give/x/", REMOTE_ADDR="192.0.2.1")
    assert is_ratelimited(request, group="t", key="ip", rate="1/m", increment=True)


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
