"""A real Celery worker and beat against Redis: beat fires the sweep (every second here,
so it runs many times), the worker delivers, and each reminder arrives exactly once."""

from __future__ import annotations

import datetime
import os
import time

import pytest
import redis
from django.core import mail
from django.utils import timezone

from config import celery_app
from sponsorship.models import Reminder, ReminderRule
from tests.sponsorship.reminder_helpers import milestone, seed_catalogues
from tests.workers import worker_threads_close_their_connections

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/5"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def _forget_connections() -> None:
    """Drop producer pools made for an earlier broker URL (the app caches them)."""
    from kombu import pools

    pools.reset()  # closes and forgets every pool, so none is handed out closed later
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None
    # The result backend is cached too (per thread, or app-wide when thread safe).
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@pytest.fixture
def seeded(transactional_db):
    seed_catalogues()


@pytest.fixture
def worker_and_beat(tmp_path):
    if not _redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"REQUIRE_REDIS is set but Redis does not answer at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    from celery.beat import EmbeddedService
    from celery.contrib.testing.worker import start_worker

    redis.Redis.from_url(REDIS_URL).flushdb()  # our own db: no stale tasks from earlier runs
    changes = {
        "broker_url": REDIS_URL,
        "task_always_eager": False,
        "broker_transport_options": {},
        "beat_schedule": {
            "reminder-sweep": {
                "task": "sponsorship.tasks.run_reminder_sweep",
                "schedule": datetime.timedelta(seconds=1),
            }
        },
    }
    saved = {key: celery_app.conf[key] for key in changes}
    celery_app.conf.update(changes)
    _forget_connections()
    beat = EmbeddedService(
        celery_app, thread=True, schedule_filename=str(tmp_path / "beat-schedule")
    )
    try:
        with (
            worker_threads_close_their_connections(),
            start_worker(
                celery_app,
                perform_ping_check=False,
                pool="threads",
                concurrency=2,
                loglevel="WARNING",
            ),
        ):
            beat.start()
            yield
            beat.stop()
    finally:
        celery_app.conf.update(saved)
        _forget_connections()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_sweeps_on_beat_and_delivers_through_a_real_worker_exactly_once(
    seeded, sponsorship, coordinator, case_worker, program_manager, worker_and_beat
):
    ReminderRule.objects.filter(kind=Reminder.Kind.WEEKLY_DIGEST).update(enabled=False)
    today = timezone.localdate()
    for n in range(5):
        milestone(sponsorship, today + datetime.timedelta(days=7), title=f"Milestone {n}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pending = Reminder.objects.filter(sent_at=None, cancelled_at=None).count()
        if Reminder.objects.filter(kind="milestone_due").count() >= 5 and pending == 0:
            break
        time.sleep(0.2)
    time.sleep(3)  # three more beats: more sweeps, nothing new
    due_soon = Reminder.objects.filter(kind="milestone_due")
    assert due_soon.count() == 5
    assert not Reminder.objects.filter(sent_at=None, cancelled_at=None).exists()
    subjects = [m.subject for m in mail.outbox if m.to == ["cora@example.org"]]
    assert sorted(s.split(": ", 1)[1] for s in subjects if "Due" in s) == [
        f"Milestone {n}" for n in range(5)
    ]
    assert len(mail.outbox) == Reminder.objects.filter(emailed=True).count()
