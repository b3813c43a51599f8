"""The Celery application: worker and beat both start from here (`celery -A config ...`)."""

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun, worker_ready
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _task_database_connection(sender: Any = None, **kwargs: Any) -> None:
    """Around each task, what Django does around each request: keep the connection unless it
    broke or outlived CONN_MAX_AGE (CONN_HEALTH_CHECKS tests it before its next use).

    Celery's own Django fixup closes it after every task instead (unless CELERY_DB_REUSE_MAX,
    set in settings, says otherwise), so each e-mail opened a new PostgreSQL session: the
    largest part of the worker's cost per pledge (docs/performance.md, "Pledge POST").
    Eager tasks run inside the caller's request or transaction: left alone.
    """
    request = getattr(sender, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return
    close_old_connections()


# The drains services wake after commit (core.outbox.wake) instead of a task per row.
DRAINS = {"fundraising.tasks.send_donor_emails": "donor e-mail"}


@worker_ready.connect
def _wake_drains(**kwargs: Any) -> None:
    """A worker killed before or in the middle of a drain leaves rows unclaimed, its task
    unacknowledged (the broker gives it back only after its visibility timeout) and perhaps
    the wake-up mark set: a worker that starts asks for each drain anyway, so those rows go
    now rather than at the next reconcile."""
    # Imported here: this module is loaded with the settings, before Django's apps are ready.
    from core import outbox

    for task_name, label in DRAINS.items():
        outbox.wake(task_name, label=label, anyway=True)


# Periodic work, defined in code so every deployment runs the same schedule.
# Times are in settings.TIME_ZONE (America/Toronto by default).
app.conf.beat_schedule = {
    # 06:00 daily: the reminder sweep (what `manage.py send_reminders` runs by hand).
    "reminder-sweep": {
        "task": "sponsorship.tasks.run_reminder_sweep",
        "schedule": crontab(hour=6, minute=0),
    },
    # Every 10 minutes: send anything that was written as a row but not delivered yet
    # (a broker outage, a worker killed mid-send). Cheap when there is nothing to do.
    "outbox-reconcile": {
        "task": "sponsorship.tasks.reconcile_outbox",
        "schedule": crontab(minute="*/10"),
    },
    # 06:15 daily: pledge instalment-due (3 days ahead) and pledge-lapsed e-mails to donors
    # and fundraising staff (fundraising.services.donor_reminder_sweep).
    "donor-reminder-sweep": {
        "task": "fundraising.tasks.run_donor_reminder_sweep",
        "schedule": crontab(hour=6, minute=15),
    },
    # Every 10 minutes: donor e-mails (confirmations, receipts, reminders) written as rows
    # but never sent (broker down, worker killed mid-send).
    "donor-email-reconcile": {
        "task": "fundraising.tasks.reconcile_donor_emails",
        "schedule": crontab(minute="*/10"),
    },
    # January 15th, 07:00: one yearly receipt per eligible donor for last year's gifts
    # (fundraising.services.receipts_year_end; staff can run it earlier from the admin).
    "year-end-receipts": {
        "task": "fundraising.tasks.issue_year_end_receipts",
        "schedule": crontab(month_of_year=1, day_of_month=15, hour=7, minute=0),
    },
    # Hourly at :25: pledges never confirmed within FUNDRAISING_PLEDGE_CONFIRM_DAYS expire.
    "expire-unconfirmed-pledges": {
        "task": "fundraising.tasks.expire_unconfirmed_pledges",
        "schedule": crontab(minute=25),
    },
    # Every 5 minutes: scan uploads that waited in quarantine while clamd was unreachable
    # (nothing is served before it is scanned clean; docs/documents.md).
    "documents-scan-quarantined": {
        "task": "evidence.tasks.scan_quarantined_documents",
        "schedule": crontab(minute="*/5"),
    },
}
