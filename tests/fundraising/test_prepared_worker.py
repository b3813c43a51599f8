"""The worker's per-e-mail queries compiled once per process (core/prepared.py,
docs/performance.md "Pledge POST"): the outbox's claim and "sent" (`PreparedUpdate`) and the
e-mail row read with its pledge (`OneIdQuery.objects`) behave as the querysets they stand for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import outbox
from core.prepared import OneIdQuery, PreparedUpdate
from fundraising import services
from fundraising.models import DonorEmail, Pledge

pytestmark = pytest.mark.django_db

AT = dt.datetime(1901, 1, 1, tzinfo=dt.UTC)
LATER = dt.datetime(1902, 1, 1, tzinfo=dt.UTC)


def _pledges(campaign, count: int) -> list[Pledge]:
    return [
        services.pledge_create(
            campaign=campaign,
            donor_name="Ada Example",
            email=f"ada{n}@example.org",
            address="1 Example Street",
            amount=Decimal("50"),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, 4])
def test_the_row_and_its_pledge_are_the_querysets(campaign, count):
    _pledges(campaign, count)
    query = OneIdQuery(lambda pk: DonorEmail.objects.select_related("pledge").filter(pk=pk))
    for row in DonorEmail.objects.select_related("pledge"):
        with CaptureQueriesContext(connection) as queries:
            (found,) = query.objects(row.pk)
            assert found.pledge.email == row.pledge.email  # no second query for the pledge
        assert len(queries) == 1
        assert found.pk == row.pk and found.pledge.pk == row.pledge.pk
        assert found.created_at == row.created_at and found.kind == row.kind
        assert found._state.adding is False and found._state.db == "default"
    assert query.objects(-1) == []


def test_objects_refuses_a_partial_instance(campaign):
    query = OneIdQuery(lambda pk: DonorEmail.objects.only("pk").filter(pk=pk))
    with pytest.raises(ValueError, match="whole instances"):
        query.objects(1)


@pytest.mark.parametrize("count", [1, 4])
def test_claim_and_sent_take_one_query_each_and_one_row(campaign, count):
    _pledges(campaign, count)
    rows = list(DonorEmail.objects.order_by("pk"))
    now = timezone.now()
    for row in rows:
        with CaptureQueriesContext(connection) as queries:
            assert outbox.claim(DonorEmail, row.pk, now=now) is True
            assert outbox.claim(DonorEmail, row.pk, now=now) is False  # held by the first
            outbox.mark_sent(DonorEmail, row.pk)
        assert len(queries) == 3
    for row in DonorEmail.objects.all():
        assert row.attempts == 1 and row.claimed_at == now and row.sent_at is not None
    assert outbox.claim(DonorEmail, rows[0].pk, now=now + dt.timedelta(hours=1)) is False  # sent


def test_a_stale_claim_or_an_over_back_off_can_be_claimed_again(campaign):
    (pledge,) = _pledges(campaign, 1)
    row = DonorEmail.objects.get(pledge=pledge)
    now = timezone.now()
    DonorEmail.objects.filter(pk=row.pk).update(claimed_at=now - dt.timedelta(minutes=14))
    assert outbox.claim(DonorEmail, row.pk, now=now) is False
    DonorEmail.objects.filter(pk=row.pk).update(claimed_at=now - dt.timedelta(minutes=16))
    assert outbox.claim(DonorEmail, row.pk, now=now) is True
    DonorEmail.objects.filter(pk=row.pk).update(
        claimed_at=None, next_attempt_at=now + dt.timedelta(minutes=1)
    )
    assert outbox.claim(DonorEmail, row.pk, now=now) is False
    assert outbox.claim(DonorEmail, row.pk, now=now + dt.timedelta(minutes=2)) is True
    assert DonorEmail.objects.get(pk=row.pk).attempts == 2


def test_an_update_computing_from_a_value_is_refused(campaign):
    def build(pk, now):
        changes = {"claimed_at": now, "next_attempt_at": now + dt.timedelta(minutes=5)}
        return DonorEmail.objects.filter(pk=pk), changes

    prepared = PreparedUpdate(
        build, stand_ins={"pk": -5, "now": AT}, other={"pk": -6, "now": LATER}
    )
    with pytest.raises(ValueError, match="neither a value given nor a constant"):
        prepared.run(pk=1, now=AT)


def test_an_update_keeps_its_constants(campaign):
    (pledge,) = _pledges(campaign, 1)
    row = DonorEmail.objects.get(pledge=pledge)
    DonorEmail.objects.filter(pk=row.pk).update(last_error="boom", attempts=2)

    def build(pk, now):
        changes = {"sent_at": now, "last_error": "", "attempts": F("attempts") + 1}
        return DonorEmail.objects.filter(pk=pk), changes

    prepared = PreparedUpdate(
        build, stand_ins={"pk": -5, "now": AT}, other={"pk": -6, "now": LATER}
    )
    now = timezone.now()
    assert prepared.run(pk=row.pk, now=now) == 1
    row.refresh_from_db()
    assert (row.sent_at, row.last_error, row.attempts) == (now, "", 3)
    with pytest.raises(ValueError, match="expected the values"):
        prepared.run(pk=row.pk)
