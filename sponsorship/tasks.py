"""Celery tasks of the sponsorship app: thin, they take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from sponsorship import reminders

logger = logging.getLogger(__name__)


@shared_task
def run_reminder_sweep() -> int:
    """The daily sweep (beat at 06:00; `manage.py send_reminders` by hand). Returns new rows.

    Safe to run any number of times a day: rows are unique, deliveries are claimed.
    """
    return reminders.reminder_sweep().created


# acks_late (settings): a worker killed mid-task has the task delivered again; the claim on
# the row (not the task) decides whether it is sent, so a redelivery never sends twice.
# A database blip before the claim (or before anything was sent) is retried by Celery.
@shared_task(autoretry_for=(OperationalError,), retry_backoff=1, max_retries=5)
def deliver_reminder(reminder_id: int) -> str:
    """Claim, re-check and send one reminder row."""
    return reminders.reminder_deliver(reminder_id=reminder_id)


@shared_task
def reconcile_outbox() -> dict[str, int]:
    """Every 10 minutes: deliver rows the queue lost (broker down, worker killed, retries)."""
    return reminders.reminder_reconcile()


@shared_task(ignore_result=False)
def ping() -> str:
    """A task that does nothing: used by the integration test and /healthz checks."""
    return "pong"
