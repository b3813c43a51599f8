from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.encryption import models_with_encrypted_fields
from core.encryption_upgrade import pending_values, upgrade_columns


class Command(BaseCommand):
    help = (
        "Rewrite encrypted fields still in the old format (keys derived from SECRET_KEY) with "
        "FIELD_ENCRYPTION_KEYS. `migrate` does this once; run it again to resume. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count the values the configured keys cannot read; exit 1 if any.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        total = 0
        for model, fields in models_with_encrypted_fields():
            table, pk = model._meta.db_table, model._meta.pk.column
            columns = [f.column for f in fields]
            if check:
                count = pending_values(connection, table, columns)
            else:
                count = upgrade_columns(connection, table, columns, pk=pk, legacy=True)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} value(s)")
        if check and total:
            raise CommandError(f"{total} value(s) cannot be read with FIELD_ENCRYPTION_KEYS.")
        verb = "unreadable" if check else "rewritten"
        self.stdout.write(self.style.SUCCESS(f"{total} value(s) {verb}."))
