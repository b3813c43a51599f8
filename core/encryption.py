"""Encrypted model fields for the case file, and the keys behind them (docs/security.md).

Keys come from `settings.FIELD_ENCRYPTION_KEYS` alone, newest first, independent of
`SECRET_KEY`. Each configured entry becomes one Fernet key, derived once per process:

- an entry that is already a Fernet key (32 bytes, URL-safe base64, as printed by
  `manage.py generate_field_key`) is used as it is;
- any other string is stretched with PBKDF2-HMAC-SHA256 (`KEY_DERIVATION_ITERATIONS`
  rounds, the fixed salt `KEY_DERIVATION_SALT`), so the same string gives the same key in
  every process and on every machine.

New values are encrypted with the first key; every key decrypts (MultiFernet), so keys
rotate without downtime: put the new key first, run `manage.py reencrypt`, drop the old one.

The fields hold no state: `from_db_value` decrypts, `get_prep_value` encrypts, and
`to_python`/`clean` only ever see plaintext, so validating a value (even one that fails)
cannot change what later reads return. A stored value that no configured key can decrypt
raises `UndecryptableValue`; it is never handed back as if it were the data.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

KEY_DERIVATION_SALT = b"hanvoice-case-file-field-encryption-v1"
KEY_DERIVATION_ITERATIONS = 200_000


class UndecryptableValue(Exception):
    """A stored value that no key in FIELD_ENCRYPTION_KEYS can decrypt.

    The message names the column, never the data: it is meant for the operator's log.
    """


def fernet_key(entry: str) -> bytes:
    """The Fernet key for one FIELD_ENCRYPTION_KEYS entry (deterministic, see module doc)."""
    raw = entry.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32 and len(raw) == 44:
            return raw
    except (binascii.Error, ValueError):
        pass
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=32,
        salt=KEY_DERIVATION_SALT,
        iterations=KEY_DERIVATION_ITERATIONS,
    )
    return base64.urlsafe_b64encode(kdf.derive(raw))


@functools.lru_cache(maxsize=8)
def _multifernet(entries: tuple[str, ...]) -> MultiFernet:
    if not entries or not all(e.strip() for e in entries):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must list one or more non-empty keys, newest first."
        )
    return MultiFernet([Fernet(fernet_key(e)) for e in entries])


def configured_keys() -> tuple[str, ...]:
    keys = settings.FIELD_ENCRYPTION_KEYS
    return (keys,) if isinstance(keys, str) else tuple(keys)


def cipher() -> MultiFernet:
    """The process's MultiFernet for the keys configured now (cached per key list)."""
    return _multifernet(configured_keys())


def encrypt_text(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str, *, where: str = "a value") -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise UndecryptableValue(
            f"{where} cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS: a key is "
            "wrong or missing, or the value predates the current format (run `manage.py "
            "upgrade_encryption`). Nothing was shown or written."
        ) from exc


def can_decrypt(token: str) -> bool:
    try:
        cipher().decrypt(token.encode())
    except (InvalidToken, UnicodeError, ValueError):
        return False
    return True


class EncryptedFieldMixin:
    """Stores `str(value)` encrypted in a text column. An empty value is stored as NULL when
    the field is `null=True`, otherwise encrypted like any other (so it reads back as "")."""

    def get_internal_type(self) -> str:
        return "TextField"

    def _serialize(self, value: Any) -> str:
        return str(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)  # type: ignore[misc]
        if value is None or (value == "" and self.null):  # type: ignore[attr-defined]
            return None
        return encrypt_text(self._serialize(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return value if prepared else self.get_prep_value(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        model = getattr(self, "model", None)
        where = f"{model._meta.db_table}.{self.column}" if model else "a value"  # type: ignore[attr-defined]
        return self.to_python(decrypt_text(value, where=where))  # type: ignore[attr-defined]

    def get_lookup(self, lookup_name: str) -> Any:
        # Fernet tokens are randomised: only NULL-ness can be asked of the database.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """max_length applies to the plaintext (validation and forms); the column is text."""


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    pass


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):
    pass


class EncryptedDateField(EncryptedFieldMixin, models.DateField):
    def _serialize(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, datetime.date) else str(value)


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]


def models_with_encrypted_fields() -> Iterator[tuple[type[models.Model], list[models.Field]]]:
    """Every model (history tables included) holding at least one encrypted field."""
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if fields:
            yield model, fields


def reencrypt_model(
    model: type[models.Model], fields: Sequence[models.Field], batch: int = 500
) -> int:
    """Rewrite every row's encrypted values with the newest key; returns rows rewritten.

    Reads decrypt with any configured key (and fail loudly if none can); `bulk_update`
    encrypts with the first. Batches commit one by one, so an interrupted run resumes.
    """
    names = [f.name for f in fields]
    count = 0
    queryset = model._base_manager.order_by("pk").only("pk", *names)
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        rows = list(page[:batch])
        if not rows:
            return count
        with transaction.atomic():
            model._base_manager.bulk_update(rows, names)
        count += len(rows)
        last_pk = rows[-1].pk
