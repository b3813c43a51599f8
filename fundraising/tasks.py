"""Celery tasks of the fundraising app: thin, they take ids and call services."""

from __future__ import annotations

from celery import shared_task

from fundraising import services


@shared_task
def send_donor_email(email_id: int) -> bool:
    """Send one `DonorEmail` row (claimed by a conditional UPDATE: exactly one sender)."""
    return services.donor_email_send(email_id)


@shared_task
def run_donor_reminder_sweep() -> int:
    """Daily: write and queue instalment-due and lapsed reminders (beat, 06:15)."""
    return services.donor_reminder_sweep()


@shared_task
def reconcile_donor_emails() -> int:
    """Every 10 minutes: send rows the broker never delivered or a dead worker left claimed."""
    return services.donor_emails_reconcile()


@shared_task
def expire_unconfirmed_pledges() -> int:
    """Hourly: pledges never confirmed within FUNDRAISING_PLEDGE_CONFIRM_DAYS expire."""
    return services.pledges_expire_unconfirmed()
