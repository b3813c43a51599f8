"""The Celery application: worker and beat both start from here (`celery -A config ...`)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
    # Hourly at :25: pledges never confirmed within FUNDRAISING_PLEDGE_CONFIRM_DAYS expire.
    "expire-unconfirmed-pledges": {
        "task": "fundraising.tasks.expire_unconfirmed_pledges",
        "schedule": crontab(minute=25),
    },
}
