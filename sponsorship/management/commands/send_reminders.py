from django.core.management.base import BaseCommand

from sponsorship.tasks import run_reminder_sweep


class Command(BaseCommand):
    help = "Run the reminder sweep now (what Celery beat runs daily)."

    def handle(self, *args, **options) -> None:
        sent = run_reminder_sweep()
        self.stdout.write(self.style.SUCCESS(f"Reminder sweep done: {sent} reminder(s) queued."))
