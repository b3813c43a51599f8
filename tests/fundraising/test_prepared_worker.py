"""The worker's per-e-mail queries compiled once per process (core/prepared.py,
docs/performance.md "Pledge POST"): the outbox's claim and "sent" (`PreparedUpdate`) and the
e-mail row read with its pledge (`OneIdQuery.objects`) behave as the querysets they stand for."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import outbox
from core.prepared import OneIdQuery, PreparedInsert, PreparedUpdate
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


def _row(instance) -> dict:
    """Every column of the instance's row as the database holds it."""
    model = type(instance)
    values = model._base_manager.filter(pk=instance.pk).values().get()
    values.pop("id")
    for name in ("public_id", "reference", "idempotency_key", "created_at"):
        values.pop(name, None)  # new for every row
    return values


def test_a_pledge_and_its_e_mail_inserted_compiled_once_are_the_rows_save_writes(campaign):
    """`PreparedInsert` (core/prepared.py) writes what `Model.save()` writes, encrypted
    fields, defaults and `auto_now_add` included, and sets the new primary key."""
    kwargs = {
        "campaign": campaign,
        "donor_name": "Ada Example",
        "email": "ada@example.org",
        "address": "1 Example Street\nToronto",
        "amount": Decimal("42.50"),
        "pledged_on": dt.date(2026, 3, 4),
        "public_message": "Welcome",
    }
    compiled, saved = Pledge(**kwargs), Pledge(**kwargs)
    PreparedInsert(Pledge).save(compiled)
    saved.save()
    assert compiled.pk and compiled.pk != saved.pk and not compiled._state.adding
    assert _row(compiled) == _row(saved)
    assert Pledge.objects.get(pk=compiled.pk).address == "1 Example Street\nToronto"

    email = DonorEmail(
        kind=DonorEmail.Kind.CONFIRMATION, pledge=compiled, due_on=compiled.pledged_on
    )
    PreparedInsert(DonorEmail).save(email)
    other = DonorEmail.objects.create(
        kind=DonorEmail.Kind.CONFIRMATION, pledge=saved, due_on=saved.pledged_on
    )
    assert _row(email) | {"pledge_id": None} == _row(other) | {"pledge_id": None}
    assert email.created_at is not None


def test_a_compiled_insert_sends_the_save_signals_and_raises_on_a_clash(campaign):
    heard = []

    def listen(sender, instance, **kwargs):
        heard.append((kwargs.get("created"), instance.pk is not None))

    pre_save.connect(listen, sender=Pledge, dispatch_uid="test-prepared-pre")
    post_save.connect(listen, sender=Pledge, dispatch_uid="test-prepared-post")
    try:
        first = Pledge(
            campaign=campaign,
            donor_name="A",
            email="a@example.org",
            amount=5,
            pledged_on=AT.date(),
            idempotency_key=uuid.uuid4(),
        )
        PreparedInsert(Pledge).save(first)
    finally:
        pre_save.disconnect(dispatch_uid="test-prepared-pre", sender=Pledge)
        post_save.disconnect(dispatch_uid="test-prepared-post", sender=Pledge)
    assert heard == [(None, False), (True, True)]

    clash = Pledge(
        campaign=campaign,
        donor_name="B",
        email="b@example.org",
        amount=5,
        pledged_on=AT.date(),
        idempotency_key=first.idempotency_key,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PreparedInsert(Pledge).save(clash)
    assert clash._state.adding and Pledge.objects.count() == 1
    with pytest.raises(ValueError):
        PreparedInsert(Pledge).save(first)  # not a new instance
