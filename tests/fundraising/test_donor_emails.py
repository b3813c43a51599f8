"""Donor e-mails are rows first: claimed once, reconciled after a broker outage, reminders."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.admin import site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from core import outbox
from fundraising import services
from fundraising.models import DonorEmail, Pledge
from tests.factories import MonthlyPledgeFactory, PaymentFactory
from tests.fundraising.test_campaign_page import url, valid_data

pytestmark = pytest.mark.django_db


def create_pledge(campaign, **kwargs) -> Pledge:
    defaults = {
        "campaign": campaign,
        "donor_name": "Ada Example",
        "email": "ada@example.org",
        "address": "1 Example Street",
        "amount": Decimal("50"),
    }
    return services.pledge_create(**(defaults | kwargs))


def test_it_saves_the_pledge_when_the_broker_is_down_and_sends_once_later(
    campaign, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    broken = mock.patch(
        "fundraising.tasks.send_donor_emails.apply_async", side_effect=OperationalError("refused")
    )
    with broken, caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        pledge = create_pledge(campaign)

    assert Pledge.objects.filter(pk=pledge.pk).exists()
    row = DonorEmail.objects.get()
    assert (row.sent_at, row.claimed_at, row.attempts) == (None, None, 0)
    assert mailoutbox == []
    assert "reconciler" in caplog.text
    assert "ada@example.org" not in caplog.text and "Ada Example" not in caplog.text

    later = timezone.now() + dt.timedelta(minutes=5)
    assert services.donor_emails_reconcile(now=later) == 1
    assert services.donor_emails_reconcile(now=later + dt.timedelta(hours=1)) == 0
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


def test_it_lets_only_one_worker_claim_a_row(campaign, mailoutbox):
    pledge = create_pledge(campaign)  # on_commit not run: the row waits
    row = DonorEmail.objects.get(pledge=pledge)
    assert services.donor_email_send(row.pk) is True
    assert services.donor_email_send(row.pk) is False
    assert len(mailoutbox) == 1


def test_it_resends_a_row_claimed_by_a_worker_that_died(campaign, mailoutbox):
    create_pledge(campaign)
    row = DonorEmail.objects.get()
    DonorEmail.objects.filter(pk=row.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=20), attempts=1
    )
    assert services.donor_emails_reconcile() == 1
    assert len(mailoutbox) == 1


def test_it_gives_up_after_repeated_failures_and_shows_why(campaign, mailoutbox):
    create_pledge(campaign)
    row = DonorEmail.objects.get()
    now = timezone.now()
    with mock.patch("core.emails.send", side_effect=ConnectionRefusedError("smtp down")):
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            if attempt > 1:  # back-off: no new attempt until the wait after the last is over
                early = now - dt.timedelta(seconds=1)
                assert services.donor_email_send(row.pk, now=early) is False
                assert DonorEmail.objects.get(pk=row.pk).attempts == attempt - 1
            services.donor_email_send(row.pk, now=now)
            now += outbox.backoff(attempt)
    row.refresh_from_db()
    assert row.failed_at is not None and row.attempts == outbox.MAX_ATTEMPTS
    assert "smtp down" in row.last_error
    assert services.donor_emails_reconcile(now=now + dt.timedelta(days=1)) == 0
    assert mailoutbox == []


def test_it_reminds_three_days_before_an_instalment_once(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    pledge = MonthlyPledgeFactory(campaign=campaign, pledged_on=dt.date(2026, 1, 10))
    PaymentFactory(pledge=pledge, received_on=dt.date(2026, 1, 10))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.donor_reminder_sweep(today=dt.date(2026, 2, 7)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.donor_reminder_sweep(today=dt.date(2026, 2, 8))  # a second run adds nothing

    row = DonorEmail.objects.get(kind=DonorEmail.Kind.INSTALMENT_DUE)
    assert row.due_on == dt.date(2026, 2, 10)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert "2026-02-10" in message.body
    stop_url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert stop_url in message.body


def test_it_marks_a_pledge_lapsed_after_two_missed_instalments(
    campaign, fundraiser, mailoutbox, django_capture_on_commit_callbacks
):
    pledge = MonthlyPledgeFactory(campaign=campaign, pledged_on=dt.date(2026, 1, 10))
    with django_capture_on_commit_callbacks(execute=True):
        services.donor_reminder_sweep(today=dt.date(2026, 2, 10))
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PLEDGED  # the second gift is due today, not missed

    with django_capture_on_commit_callbacks(execute=True):
        services.donor_reminder_sweep(today=dt.date(2026, 2, 11))
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.LAPSED
    kinds = set(DonorEmail.objects.values_list("kind", flat=True))
    assert {DonorEmail.Kind.LAPSED, DonorEmail.Kind.LAPSED_STAFF} <= kinds
    recipients = {tuple(m.to) for m in mailoutbox}
    assert (pledge.email,) in recipients and (fundraiser.email,) in recipients
    staff = next(m for m in mailoutbox if m.to == [fundraiser.email])
    assert pledge.reference in staff.subject and pledge.email not in staff.subject


def test_a_pledge_that_lapses_is_not_also_reminded_of_its_next_instalment(
    campaign, fundraiser, mailoutbox, django_capture_on_commit_callbacks
):
    """Two gifts missed and the third due in two days: the lapsed e-mail, not a reminder of an
    instalment of a pledge that has just lapsed."""
    pledge = MonthlyPledgeFactory(campaign=campaign, pledged_on=dt.date(2026, 1, 10))
    with django_capture_on_commit_callbacks(execute=True):
        services.donor_reminder_sweep(today=dt.date(2026, 3, 8))
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.LAPSED
    kinds = sorted(DonorEmail.objects.values_list("kind", flat=True))
    assert kinds == sorted([DonorEmail.Kind.LAPSED, DonorEmail.Kind.LAPSED_STAFF])
    assert len(mailoutbox) == 2 and DonorEmail.objects.filter(sent_at__isnull=True).count() == 0


def test_it_sweeps_in_a_constant_number_of_queries(campaign):
    def queries_for(count: int) -> int:
        DonorEmail.objects.all().delete()
        Pledge.objects.all().delete()
        MonthlyPledgeFactory.create_batch(count, campaign=campaign, pledged_on=dt.date(2026, 1, 10))
        with CaptureQueriesContext(connection) as ctx:
            services.donor_reminder_sweep(today=dt.date(2026, 2, 8))
        assert DonorEmail.objects.count() == count
        return len(ctx.captured_queries)

    assert queries_for(5) == queries_for(50)


def test_it_stops_reminders_with_one_click_and_no_login(client, campaign):
    pledge = MonthlyPledgeFactory(campaign=campaign, pledged_on=dt.date(2026, 1, 10))
    url = reverse("fundraising:reminders-stop", args=[services.reminders_stop_token(pledge)])

    response = client.get(url)

    assert response.status_code == 200
    assert "Reminders stopped" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.reminders_enabled is False
    assert services.donor_reminder_sweep(today=dt.date(2026, 2, 8)) == 0
    assert client.post(url).status_code == 200  # RFC 8058 one-click POST from a mail client


def test_it_refuses_a_forged_stop_link(client, campaign):
    pledge = MonthlyPledgeFactory(campaign=campaign)
    token = services.reminders_stop_token(pledge)
    response = client.get(reverse("fundraising:reminders-stop", args=[token[:-2] + "xx"]))
    assert response.status_code == 404
    pledge.refresh_from_db()
    assert pledge.reminders_enabled is True


def test_it_schedules_the_sweep_daily_and_the_reconciler_every_ten_minutes():
    schedule = celery_app.conf.beat_schedule
    assert schedule["donor-reminder-sweep"]["task"] == "fundraising.tasks.run_donor_reminder_sweep"
    assert schedule["donor-email-reconcile"]["task"] == "fundraising.tasks.reconcile_donor_emails"
    celery_app.loader.import_default_modules()  # what a worker does when it starts
    for name in (
        "fundraising.tasks.send_donor_email",
        "fundraising.tasks.send_donor_emails",
        "fundraising.tasks.run_donor_reminder_sweep",
        "fundraising.tasks.reconcile_donor_emails",
    ):
        assert name in celery_app.tasks


def test_it_keeps_the_pledge_when_a_real_broker_connection_is_refused(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    """Not a mock: Celery really tries a Redis port where nothing listens."""

    changes = {
        "task_always_eager": False,
        "broker_url": "redis://127.0.0.1:9/3",
        "broker_transport_options": {"max_retries": 1, "interval_start": 0, "interval_step": 0},
    }
    saved = {key: celery_app.conf[key] for key in changes}
    celery_app.conf.update(changes)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url(campaign), valid_data())
    finally:
        celery_app.conf.update(saved)
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    assert response.status_code == 302
    row = DonorEmail.objects.get()
    assert row.sent_at is None and mailoutbox == []
    assert services.donor_emails_reconcile(now=timezone.now() + dt.timedelta(minutes=5)) == 1
    assert len(mailoutbox) == 1


def test_it_drops_a_waiting_reminder_once_the_pledge_is_cancelled(campaign, mailoutbox):
    pledge = MonthlyPledgeFactory(campaign=campaign, pledged_on=dt.date(2026, 1, 10))
    PaymentFactory(pledge=pledge, received_on=dt.date(2026, 1, 10))
    services.donor_reminder_sweep(today=dt.date(2026, 2, 7))  # row written, not yet sent
    services.pledge_cancel(pledge=pledge)

    assert services.donor_emails_reconcile(now=timezone.now() + dt.timedelta(minutes=5)) == 0
    row = DonorEmail.objects.get(kind=DonorEmail.Kind.INSTALMENT_DUE)
    assert row.sent_at is None and row.failed_at is not None and "cancelled" in row.last_error
    assert mailoutbox == []


def test_staff_retry_sends_a_row_waiting_out_its_back_off(campaign, mailoutbox, rf):
    create_pledge(campaign)
    row = DonorEmail.objects.get()
    with mock.patch("core.emails.send", side_effect=ConnectionRefusedError("smtp down")):
        services.donor_email_send(row.pk)
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now() and mailoutbox == []

    model_admin = site._registry[DonorEmail]
    with mock.patch.object(model_admin, "message_user") as told:
        model_admin.retry(rf.post("/"), DonorEmail.objects.filter(pk=row.pk))
    told.assert_called_once()
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


def test_a_burst_of_pledges_wakes_one_drain_that_sends_each_once(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    """Each pledge's commit wakes the drain; while one is on its way, no other is asked for
    (core.outbox.wake), and the drain it sends every row of the burst, each once."""
    drains = mock.patch("fundraising.tasks.send_donor_emails.apply_async")
    with drains as queued, django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            create_pledge(campaign, email=f"donor{n}@example.org")
    assert queued.call_count == 1
    assert queued.call_args.kwargs == {"countdown": outbox.DRAIN_DELAY}
    assert services.donor_emails_drain() == 5
    assert services.donor_emails_drain() == 0  # a second drain (another worker) sends nothing
    assert sorted(m.to[0] for m in mailoutbox) == [f"donor{n}@example.org" for n in range(5)]
    assert DonorEmail.objects.filter(sent_at__isnull=False, attempts=1).count() == 5


def test_a_row_committed_after_a_drain_began_wakes_the_next(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    """The drain clears the mark before it reads: a pledge after that asks for a new drain."""
    with mock.patch("fundraising.tasks.send_donor_emails.apply_async") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            create_pledge(campaign, email="first@example.org")
        assert services.donor_emails_drain() == 1
        with django_capture_on_commit_callbacks(execute=True):
            create_pledge(campaign, email="second@example.org")
    assert queued.call_count == 2
    assert services.donor_emails_drain() == 1
    assert [m.to[0] for m in mailoutbox] == ["first@example.org", "second@example.org"]


def test_with_the_cache_unreachable_every_pledge_wakes_a_drain(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    """django-redis answers None when Redis is down (IGNORE_EXCEPTIONS): no e-mail waits on
    a mark nobody can read."""
    unreachable = mock.patch("core.outbox.cache.add", return_value=None)
    drains = mock.patch("fundraising.tasks.send_donor_emails.apply_async")
    with unreachable, drains as queued, django_capture_on_commit_callbacks(execute=True):
        create_pledge(campaign, email="a@example.org")
        create_pledge(campaign, email="b@example.org")
    assert queued.call_count == 2


def test_a_broker_outage_clears_the_mark_so_the_next_pledge_tries_again(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    refused = mock.patch(
        "fundraising.tasks.send_donor_emails.apply_async", side_effect=OperationalError("refused")
    )
    with refused as queued, django_capture_on_commit_callbacks(execute=True):
        create_pledge(campaign, email="a@example.org")
        create_pledge(campaign, email="b@example.org")
    assert queued.call_count == 2 and mailoutbox == []
    assert services.donor_emails_reconcile(now=timezone.now() + dt.timedelta(minutes=5)) == 2


def test_the_drain_leaves_rows_in_back_off_and_rows_claimed_elsewhere(campaign, mailoutbox):
    for n in range(3):
        create_pledge(campaign, email=f"donor{n}@example.org")
    waiting, claimed, fresh = DonorEmail.objects.order_by("pk")
    DonorEmail.objects.filter(pk=waiting.pk).update(
        attempts=1, next_attempt_at=timezone.now() + dt.timedelta(minutes=5)
    )
    DonorEmail.objects.filter(pk=claimed.pk).update(attempts=1, claimed_at=timezone.now())
    assert services.donor_emails_drain() == 1
    assert [m.to[0] for m in mailoutbox] == ["donor2@example.org"]


def test_a_drain_ends_under_a_steady_stream(campaign, mailoutbox, time_machine):
    """Rows written after a drain's span are the next drain's (their commit found no mark)."""
    create_pledge(campaign, email="now@example.org")
    create_pledge(campaign, email="later@example.org")
    DonorEmail.objects.filter(pledge__email="later@example.org").update(
        created_at=timezone.now() + outbox.DRAIN_SPAN + dt.timedelta(seconds=1)
    )
    assert services.donor_emails_drain() == 1
    assert [m.to[0] for m in mailoutbox] == ["now@example.org"]
    time_machine.move_to(timezone.now() + outbox.DRAIN_SPAN + dt.timedelta(seconds=2))
    assert services.donor_emails_drain() == 1


def test_a_drain_claims_its_rows_in_batches_each_once(campaign, mailoutbox):
    """`DRAIN_BATCH` rows are claimed and read per batch: about one statement per e-mail (its
    "sent") instead of three, and every row is sent once with one attempt counted."""
    count = outbox.DRAIN_BATCH * 2 + 3
    for n in range(count):
        create_pledge(campaign, email=f"donor{n}@example.org")
    with CaptureQueriesContext(connection) as ctx:
        assert services.donor_emails_drain() == count
    batches = 3 + 1  # three batches, then the claim that finds none
    sql = [q["sql"].split()[0].upper() for q in ctx.captured_queries]
    assert sql.count("SELECT") == 3  # each batch's rows with their pledges, in one query
    assert sql.count("UPDATE") == count + batches  # each "sent", and each batch's claim
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        f"donor{n}@example.org" for n in range(count)
    )
    assert DonorEmail.objects.filter(sent_at__isnull=False, attempts=1).count() == count


def test_claim_queued_takes_only_rows_queued_and_never_tried(campaign):
    for n in range(5):
        create_pledge(campaign, email=f"donor{n}@example.org")
    sent, waiting, claimed, failed, fresh = DonorEmail.objects.order_by("pk")
    now = timezone.now()
    DonorEmail.objects.filter(pk=sent.pk).update(sent_at=now, attempts=1)
    DonorEmail.objects.filter(pk=waiting.pk).update(
        attempts=1, next_attempt_at=now + dt.timedelta(minutes=5)
    )
    DonorEmail.objects.filter(pk=claimed.pk).update(attempts=1, claimed_at=now)
    DonorEmail.objects.filter(pk=failed.pk).update(attempts=5, failed_at=now)

    until = now + outbox.DRAIN_SPAN
    assert outbox.claim_queued(DonorEmail, now=now, until=until) == [fresh.pk]
    assert outbox.claim_queued(DonorEmail, now=now, until=until) == []  # claimed: not again
    fresh.refresh_from_db()
    assert (fresh.claimed_at, fresh.attempts) == (now, 1)


def test_rows_a_killed_worker_claimed_in_a_batch_are_sent_once_by_the_reconciler(
    campaign, mailoutbox
):
    """A worker that dies after claiming a batch sent none of it: the rows wait for
    CLAIM_TIMEOUT, then `reconcile` sends each once, and a drain never takes them."""
    for n in range(3):
        create_pledge(campaign, email=f"donor{n}@example.org")
    now = timezone.now()
    assert len(outbox.claim_queued(DonorEmail, now=now, until=now + outbox.DRAIN_SPAN)) == 3
    assert services.donor_emails_drain() == 0
    assert services.donor_emails_reconcile(now=now + dt.timedelta(minutes=5)) == 0
    later = now + outbox.CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    assert services.donor_emails_reconcile(now=later) == 3
    assert services.donor_emails_reconcile(now=later + dt.timedelta(hours=1)) == 0
    assert len(mailoutbox) == 3
    assert DonorEmail.objects.filter(sent_at__isnull=False, attempts=2).count() == 3
