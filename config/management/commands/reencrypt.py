from django.core.management.base import BaseCommand

from core.encryption import models_with_encrypted_fields, reencrypt_model


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted case-file field with the newest key in "
        "FIELD_ENCRYPTION_KEYS (run after putting a new key first; then drop the old key)."
    )

    def handle(self, *args, **options) -> None:
        total = 0
        for model, fields in models_with_encrypted_fields():
            count = reencrypt_model(model, fields)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} row(s)")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s) with the newest key."))
