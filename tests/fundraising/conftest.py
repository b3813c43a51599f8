from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached totals live in the (local memory) cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def campaign(db):
    from tests.factories import CampaignFactory

    return CampaignFactory()
