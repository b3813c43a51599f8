from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create (or top up) fictional demo data. Idempotent; refuses to run with DEBUG off."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo refuses to run with DJANGO_DEBUG off (real data).")
        __import__("fundraising.demo").demo.seed()  # fundraising stands alone: its own seed
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
