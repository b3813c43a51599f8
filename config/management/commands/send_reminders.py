"""`manage.py send_reminders`: the reminder sweeps now, by hand (what beat runs daily).

It lives in config because it joins two apps that don't know each other: the sponsorship
reminders (families' plans, reviews, support periods) and fundraising's donor reminders.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from fundraising import services as fundraising_services
from sponsorship import reminders


class Command(BaseCommand):
    help = (
        "Run the reminder sweeps now (what Celery beat runs daily): write every reminder due "
        "as of today and queue it. Running it twice sends nothing twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="Also deliver pending reminders in this process (when no worker is running).",
        )

    def handle(self, *args, deliver: bool = False, **options) -> None:
        result = reminders.reminder_sweep()
        self.stdout.write(f"Family reminders: {result.created} new reminder(s) queued.")
        donors = fundraising_services.donor_reminder_sweep()
        self.stdout.write(f"Donor reminders: {donors} new reminder(s) queued.")
        if deliver:
            outcomes = reminders.reminder_reconcile(include_fresh=True)
            summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing"
            self.stdout.write(f"Delivered now: {summary}.")
            sent = fundraising_services.donor_emails_reconcile()
            self.stdout.write(f"Donor e-mails delivered now: {sent}.")
        self.stdout.write(self.style.SUCCESS("Reminder sweep done."))
