from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Print a new random key for FIELD_ENCRYPTION_KEYS (a Fernet key, used as it is). "
        "Put it first in the list, keep the old keys after it, then run `reencrypt`."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(Fernet.generate_key().decode())
