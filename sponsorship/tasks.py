"""Celery tasks of the sponsorship app: thin, they take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def run_reminder_sweep() -> int:
    """The daily sweep (beat, or `manage.py send_reminders`). Filled in by the reminders work."""
    return 0


@shared_task
def reconcile_outbox() -> int:
    """Re-send rows written but not delivered. Filled in by the reminders work."""
    return 0


@shared_task(ignore_result=False)
def ping() -> str:
    """A task that does nothing: used by the integration test and /healthz checks."""
    return "pong"
