"""Concurrency on PostgreSQL: two sweeps at once write no duplicate, and four senders
racing over the same rows send each e-mail once (the unique constraint and the claim)."""

from __future__ import annotations

import datetime
import os
import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from sponsorship import reminders
from sponsorship.models import Reminder, ReminderRule
from tests.factories import SponsorshipFactory
from tests.sponsorship.reminder_helpers import milestone, seed_catalogues

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded")]


@pytest.fixture
def seeded(transactional_db):
    seed_catalogues()


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but the tests run on " + connection.vendor)
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture
def many_due(sponsorship, coordinator, case_worker, program_manager, other_group):
    """Forty milestones due in 7 days in two sponsorships, and four overdue since yesterday
    (the digest and HanVoice's own monitoring contacts are off: milestones only)."""
    K = Reminder.Kind
    ReminderRule.objects.filter(
        kind__in=[K.WEEKLY_DIGEST, K.MONITORING_DUE, K.MONITORING_OVERDUE]
    ).update(enabled=False)
    today = timezone.localdate()
    theirs = SponsorshipFactory(group=other_group, arrival_date=today, matched_on=today, plan=False)
    sponsorship.milestones.all().delete()
    sponsorship.reviews.all().delete()
    for n in range(20):
        milestone(sponsorship, today + datetime.timedelta(days=7), title=f"Ours {n}")
        milestone(theirs, today + datetime.timedelta(days=7), title=f"Theirs {n}")
    for n in range(4):
        milestone(sponsorship, today - datetime.timedelta(days=1), title=f"Late {n}")


def _race(target, workers: int) -> list:
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_it_writes_no_duplicate_when_two_sweeps_run_at_once(many_due):
    results = _race(reminders.reminder_sweep, 2)
    keys = Counter(Reminder.objects.values_list("kind", "subject_key", "due_on", "recipient_id"))
    # 20 due soon to our coordinator, 4 late × (coordinator + case worker); theirs has no
    # coordinator and no members: nobody in the group to tell.
    assert sum(keys.values()) == 20 + 8 and max(keys.values()) == 1
    assert sum(r.created for r in results) == 28  # each new row queued by one sweep only
    assert len(mail.outbox) == 28
    sent = Counter((m.to[0], m.subject) for m in mail.outbox)
    assert max(sent.values()) == 1


def test_it_sends_each_row_once_when_four_senders_race(many_due, monkeypatch):
    # Rows only, no tasks: patched where the sweep looks it up.
    monkeypatch.setattr(reminders.sweep, "enqueue_delivery", lambda ids: 0)
    reminders.reminder_sweep()
    assert Reminder.objects.filter(sent_at=None).count() == 28
    outcomes = _race(lambda: reminders.reminder_reconcile(include_fresh=True), 4)
    assert sum(o.get("sent", 0) for o in outcomes) == 28
    assert len(mail.outbox) == 28
    assert not Reminder.objects.filter(sent_at=None).exists()
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}
