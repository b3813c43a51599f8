import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from fundraising import demo as fundraising_demo
from sponsorship import demo as sponsorship_demo
from sponsorship import reminders

DEMO_SWEEP_DAYS = 30


class Command(BaseCommand):
    help = "Create (or top up) fictional demo data. Idempotent; refuses to run with DEBUG off."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo refuses to run with DJANGO_DEBUG off (real data).")

        with transaction.atomic():
            sponsorship_demo.seed()
            fundraising_demo.seed()
        # The daily sweeps of the last month, as beat would have run them, so the demo inboxes
        # and the staff's e-mail show reminders at once (idempotent: nothing is sent twice).
        today = timezone.localdate()
        created = sum(
            reminders.reminder_sweep(today=today - datetime.timedelta(days=n)).created
            for n in range(DEMO_SWEEP_DAYS, -1, -1)
        )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Reminder sweeps: {created} new reminder(s) in the demo inboxes.")
        self.stdout.write(
            f"Demo sign-in (all fictional): manager@, caseworker@, fundraising@, "
            f"coordinator.harbourside@ (a family in month 4) ... {sponsorship_demo.DEMO_DOMAIN}; "
            f"password: {sponsorship_demo.DEMO_PASSWORD}"
        )
