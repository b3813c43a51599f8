from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fundraising import demo as fundraising_demo
from sponsorship import demo as sponsorship_demo


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
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"Demo sign-in (all fictional): manager@, caseworker@, fundraising@, "
            f"coordinator.maplewood@ ... {sponsorship_demo.DEMO_DOMAIN}; "
            f"password: {sponsorship_demo.DEMO_PASSWORD}"
        )
