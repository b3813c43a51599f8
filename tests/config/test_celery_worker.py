"""A real Celery worker against a real Redis broker runs a task the web side queued."""

from __future__ import annotations

import os

import pytest
import redis

from config import celery_app
from sponsorship.tasks import ping

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
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
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
