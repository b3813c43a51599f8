"""1,000 pledges created at once: every row saved, the campaign total right to the cent, and a
token sent twice at the same moment still makes one pledge."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from fundraising import selectors, services
from fundraising.models import Pledge
from tests.factories import CampaignFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer; real concurrency needs PostgreSQL",
    ),
]


def _pledge(campaign, key: uuid.UUID, amount: Decimal, n: int) -> tuple[Pledge, bool]:
    try:
        return services.pledge_create_once(
            idempotency_key=key,
            campaign=campaign,
            donor_name=f"Concurrent Donor {n}",
            email=f"concurrent{n}@example.org",
            amount=amount,
            wants_receipt=False,
        )
    finally:
        connections.close_all()  # this thread's connection


def test_it_saves_1000_concurrent_pledges_and_totals_them_to_the_cent():
    campaign = CampaignFactory()
    amounts = [Decimal(500 + (n * 7919) % 49500) / 100 for n in range(1000)]
    keys = [uuid.uuid4() for _ in amounts]
    start = threading.Barrier(16)

    def work(chunk: range) -> list[bool]:
        start.wait()
        return [_pledge(campaign, keys[n], amounts[n], n)[1] for n in chunk]

    with ThreadPoolExecutor(max_workers=16) as pool:
        created = pool.map(work, [range(i, 1000, 16) for i in range(16)])
        created = [flag for chunk in created for flag in chunk]

    assert created.count(True) == 1000
    rows = Pledge.objects.filter(campaign=campaign)
    assert rows.count() == 1000
    assert rows.aggregate(total=Sum("amount"))["total"] == sum(amounts)
    # Nothing counts until the donors confirm (docs/fundraising.md); then all of it, to the cent.
    assert selectors.campaign_totals(campaign).pledged_outstanding == 0
    rows.update(confirmed_at=timezone.now())
    totals = selectors.campaign_totals(campaign)  # what the public meter shows
    assert totals.pledged_outstanding == sum(amounts)
    assert totals.donors == 1000


def test_it_makes_one_pledge_of_a_token_posted_twice_at_the_same_moment():
    campaign = CampaignFactory()
    keys = [uuid.uuid4() for _ in range(50)]
    start = threading.Barrier(2)

    def work(offset: int) -> list[Pledge]:
        start.wait()
        return [_pledge(campaign, key, Decimal("25.00"), n)[0] for n, key in enumerate(keys)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(work, [0, 1])

    assert Pledge.objects.filter(campaign=campaign).count() == 50
    assert [p.pk for p in first] == [p.pk for p in second]  # both callers got the same pledge
