"""Drains running at the same moment on PostgreSQL (two workers woken at once, or a drain
and a restarted worker's): each row is claimed by exactly one of them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from core import outbox
from fundraising import services
from fundraising.models import DonorEmail
from tests.factories import CampaignFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer; concurrent claims need PostgreSQL",
    ),
]


def test_four_drains_at_once_claim_disjoint_batches_covering_every_row():
    campaign = CampaignFactory()
    with mock.patch("core.outbox.wake"):
        for n in range(120):
            services.pledge_create(
                campaign=campaign,
                donor_name=f"Drain Donor {n}",
                email=f"drain{n}@example.org",
                amount=Decimal("20.00"),
                wants_receipt=False,
            )
    start = threading.Barrier(4)
    until = timezone.now() + outbox.DRAIN_SPAN

    def claim_until_empty(_: int) -> list[int]:
        start.wait()
        won: list[int] = []
        try:
            while batch := outbox.claim_queued(DonorEmail, now=timezone.now(), until=until):
                assert len(batch) <= outbox.DRAIN_BATCH
                won += batch
        finally:
            connections.close_all()  # this thread's connection
        return won

    with ThreadPoolExecutor(max_workers=4) as pool:
        claims = list(pool.map(claim_until_empty, range(4)))

    every = [pk for won in claims for pk in won]
    assert len(every) == len(set(every)) == 120  # none twice, none left
    assert sum(1 for won in claims if won) >= 2  # they really ran side by side
    assert set(every) == set(DonorEmail.objects.values_list("pk", flat=True))
    assert DonorEmail.objects.filter(attempts=1, claimed_at__isnull=False).count() == 120
