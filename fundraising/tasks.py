"""Celery tasks of the fundraising app: thin, they take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from fundraising import services


@shared_task
def send_donor_emails() -> int:
    """Send every `DonorEmail` row queued and never tried (woken after commit by the services
    that write them; each row claimed by a conditional UPDATE: exactly one sender)."""
    return services.donor_emails_drain()


@shared_task
def send_donor_email(email_id: int) -> bool:
    """Send one `DonorEmail` row (claimed by a conditional UPDATE: exactly one sender). The
    services wake `send_donor_emails` instead; kept for messages queued before."""
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


@shared_task
def issue_year_end_receipts() -> int:
    """January (beat, the 15th): yearly receipts for last year's gifts; returns how many."""
    year = timezone.localdate().year - 1
    return len(services.receipts_year_end(year=year).issued)
