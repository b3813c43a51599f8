"""Helpers for the tests that start a real Celery worker in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery.signals import task_postrun
from django.db import connections


def _close_this_threads_connections(**kwargs: Any) -> None:
    connections.close_all()


@contextmanager
def worker_threads_close_their_connections() -> Iterator[None]:
    """A worker started by a test runs its tasks in threads of the test process, and a
    thread's database connections outlive it until the garbage collector finds them: the
    PostgreSQL test database could not be dropped at the end ("being accessed by other
    users"). While this is open, each task closes its thread's connections when it ends, as
    a worker process's exit would."""
    task_postrun.connect(_close_this_threads_connections, weak=False)
    try:
        yield
    finally:
        task_postrun.disconnect(_close_this_threads_connections)
