"""A real Celery worker against a real Redis broker runs a task the web side queued."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import redis
from django.core.cache import cache

from config import celery_app
from config.celery import DRAINS, _wake_drains
from core import outbox
from fundraising.services import pledge_create
from sponsorship.tasks import ping
from tests.factories import CampaignFactory
from tests.workers import worker_threads_close_their_connections

REDIS_URL = (
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ("redis://127.0.0.1:6379/15")
)


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture
def redis_worker():
    if not _redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"REQUIRE_REDIS is set but Redis does not answer at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}: the PostgreSQL + Redis run in .ci/run covers this")
    from celery.contrib.testing.worker import start_worker

    changes = {
        "broker_url": REDIS_URL,
        "result_backend": REDIS_URL,
        "task_always_eager": False,
        "task_ignore_result": False,
        "broker_transport_options": {},
    }
    saved = {key: celery_app.conf[key] for key in changes}
    celery_app.conf.update(changes)
    _forget_cached_connections()  # made by earlier tests for another broker / no backend
    try:
        with (
            worker_threads_close_their_connections(),
            start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"),
        ):
            yield
    finally:
        celery_app.conf.update(saved)
        _forget_cached_connections()


def _forget_cached_connections() -> None:
    from kombu import pools

    pools.reset()  # closes and forgets every pool, so none is handed out closed later
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_task(redis_worker):
    result = ping.delay()
    assert result.get(timeout=20) == "pong"


def _task(*, eager: bool):
    """What Celery's task_prerun/task_postrun signals pass as `sender`: the task, whose
    request says whether it runs in the caller's process (eager)."""
    from types import SimpleNamespace

    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def _run_tasks(count: int, *, eager: bool = False) -> None:
    """The connection handling around `count` tasks, as a worker runs it: Celery's Django
    fixup (connected by the worker itself) and ours (config/celery.py), then a query."""
    from celery.fixups.django import DjangoWorkerFixup
    from django.db import connection

    from config.celery import _task_database_connection

    fixup = DjangoWorkerFixup(celery_app)
    task = _task(eager=eager)
    for _ in range(count):
        fixup.on_task_prerun(task)
        _task_database_connection(task)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        fixup.on_task_postrun(task)
        _task_database_connection(task)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_task_to_task(monkeypatch):
    """Celery's fixup closed it after every task: each e-mail opened a PostgreSQL session."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    opened = connection.connection
    _run_tasks(5)
    assert connection.connection is opened


@pytest.mark.django_db(transaction=True)
def test_a_worker_drops_a_connection_older_than_conn_max_age(monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    connection.ensure_connection()
    _run_tasks(1)
    assert connection.connection is None  # closed after the task, as after a request


@pytest.mark.django_db(transaction=True)
def test_a_worker_drops_a_connection_that_broke(monkeypatch):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    from config.celery import _task_database_connection

    _task_database_connection(_task(eager=False))
    assert connection.connection is None


def test_an_eager_task_leaves_the_callers_connection_alone(monkeypatch):
    from config import celery as celery_module

    calls: list[int] = []
    monkeypatch.setattr(celery_module, "close_old_connections", lambda: calls.append(1))
    celery_module._task_database_connection(_task(eager=True))
    celery_module._task_database_connection(None)
    assert calls == []
    celery_module._task_database_connection(_task(eager=False))
    assert calls == [1]


@pytest.mark.django_db(transaction=True)
def test_a_worker_replaces_a_connection_the_database_dropped(monkeypatch):
    """A PostgreSQL restart between two tasks: the health check before the next task's first
    query finds the kept connection dead and opens a new one (CONN_HEALTH_CHECKS)."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    connection.close()
    connection.ensure_connection()
    dropped = connection.connection
    monkeypatch.setattr(connection, "is_usable", lambda: connection.connection is not dropped)
    _run_tasks(1)
    assert connection.connection is not None
    assert connection.connection is not dropped


@pytest.mark.django_db
def test_a_starting_worker_drains_what_a_killed_one_left(mailoutbox):
    """A worker killed before its drain ran leaves the rows unsent and the mark set, so no
    pledge after it wakes a drain: a worker that starts asks for each drain anyway."""
    campaign = CampaignFactory()
    # In the test's transaction the pledge's commit hook never runs: its row waits.
    pledge_create(
        campaign=campaign, donor_name="A", email="a@example.org", address="1 Main St",
        amount=Decimal("25"),
    )  # fmt: skip
    drain = "fundraising.tasks.send_donor_emails"
    cache.set(outbox.wake_key(drain), 1)  # the killed worker's mark
    assert outbox.wake(drain, label="donor e-mail") is False and mailoutbox == []
    _wake_drains()
    assert [m.to for m in mailoutbox] == [["a@example.org"]]
    assert drain in DRAINS
