"""`manage.py send_reminders`: the reminder sweep now, by hand (what beat runs daily)."""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand

from sponsorship import reminders


def _donor_sweep():
    """fundraising's donor sweep when that app provides one (it may not, on older code)."""
    try:
        module = import_module("fundraising.services")
    except ModuleNotFoundError as exc:
        if exc.name != "fundraising.services":
            raise
        return None
    return getattr(module, "donor_reminder_sweep", None)


class Command(BaseCommand):
    help = (
        "Run the reminder sweep now (what Celery beat runs daily at 06:00): write every "
        "reminder due as of today and queue it. Running it twice sends nothing twice."
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
        donor_sweep = _donor_sweep()
        if donor_sweep is not None:
            self.stdout.write(f"Donor reminders: {donor_sweep()} new reminder(s) queued.")
        if deliver:
            outcomes = reminders.reminder_reconcile(include_fresh=True)
            summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing"
            self.stdout.write(f"Delivered now: {summary}.")
        self.stdout.write(self.style.SUCCESS("Reminder sweep done."))
