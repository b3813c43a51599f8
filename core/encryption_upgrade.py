"""Bring stored values to the current encryption format (core/encryption.py).

Two kinds of column are upgraded, both idempotently and resumably (each batch of rows
commits on its own; a value already readable with FIELD_ENCRYPTION_KEYS is left alone, so a
second run, or a run after an interruption, only touches what is left):

- **legacy**: values written by django-fernet-encrypted-fields 0.4.0, whose keys were
  PBKDF2(SECRET_KEY or a SECRET_KEY_FALLBACKS entry, salt = a FIELD_ENCRYPTION_KEYS entry).
  That library re-encrypted a value it had failed to decrypt, so a value may be wrapped
  several times: it is unwrapped until plaintext. A value no key can read stops the run
  with an error naming the table and column, and nothing of that batch is written.
- **plaintext**: columns that were stored in clear before they became encrypted fields.

The old library's read path is reimplemented here in a few lines rather than kept as a
dependency (docs/security.md, "Upgrading from the old field format").
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from core.encryption import UndecryptableValue, can_decrypt, configured_keys, encrypt_text

MAX_WRAPPINGS = 8  # the old library's double-encryption bug, repeated at most this often


@functools.lru_cache(maxsize=4)
def _legacy_cipher(secrets: tuple[str, ...], salts: tuple[str, ...]) -> MultiFernet:
    keys = []
    for secret in secrets:
        for salt in salts:
            kdf = PBKDF2HMAC(
                algorithm=hashes.SHA256(), length=32, salt=salt.encode(), iterations=100_000
            )
            keys.append(Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode()))))
    return MultiFernet(keys)


def legacy_cipher() -> MultiFernet:
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []))
    return _legacy_cipher(tuple(secrets), configured_keys())


def legacy_plaintext(token: str) -> str | None:
    """The plaintext of an old-format value, unwrapped as often as it was wrapped; None if
    no legacy key reads it."""
    cipher = legacy_cipher()
    try:
        value = cipher.decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
    for _ in range(MAX_WRAPPINGS):
        try:
            value = cipher.decrypt(value.encode()).decode()
        except (InvalidToken, UnicodeError, ValueError):
            break
    return value


def _upgraded(value: str, *, legacy: bool, where: str) -> str | None:
    """The new-format token for `value`, or None when it is already in the new format."""
    if can_decrypt(value):
        return None
    if not legacy:
        return encrypt_text(value)
    plaintext = legacy_plaintext(value)
    if plaintext is None:
        raise UndecryptableValue(
            f"{where} holds a value that neither FIELD_ENCRYPTION_KEYS nor the old format "
            "(SECRET_KEY and SECRET_KEY_FALLBACKS with FIELD_ENCRYPTION_KEYS as salts) can "
            "read. Put the missing key back and run again; nothing of this batch was written."
        )
    return encrypt_text(plaintext)


def upgrade_columns(
    connection: BaseDatabaseWrapper,
    table: str,
    columns: Sequence[str],
    *,
    legacy: bool,
    pk: str = "id",
    batch: int = 200,
    empty_to_null: Sequence[str] = (),
) -> int:
    """Rewrite `columns` of `table` into the current format; returns the values rewritten.

    An empty string becomes NULL in `empty_to_null` columns (fields declared `null=True`)
    and in legacy columns (the old library never stored one); otherwise it is encrypted.
    """
    q = connection.ops.quote_name
    select = (
        f"SELECT {q(pk)}, {', '.join(q(c) for c in columns)} FROM {q(table)} "
        f"WHERE {q(pk)} > %s ORDER BY {q(pk)} LIMIT {int(batch)}"
    )
    rewritten = 0
    last = -1
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            if not rows:
                return rewritten
            for row in rows:
                changes = {}
                for column, value in zip(columns, row[1:], strict=True):
                    if value is None:
                        continue
                    if value == "" and (legacy or column in empty_to_null):
                        changes[column] = None
                        continue
                    new = _upgraded(value, legacy=legacy, where=f"{table}.{column}")
                    if new is not None:
                        changes[column] = new
                if changes:
                    sets = ", ".join(f"{q(c)} = %s" for c in changes)
                    cursor.execute(
                        f"UPDATE {q(table)} SET {sets} WHERE {q(pk)} = %s",
                        [*changes.values(), row[0]],
                    )
                    rewritten += len(changes)
        last = rows[-1][0]


def pending_values(connection: BaseDatabaseWrapper, table: str, columns: Sequence[str]) -> int:
    """How many non-empty values of `table` the current keys cannot read (for --check)."""
    q = connection.ops.quote_name
    count = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}")
        for row in cursor.fetchall():
            count += sum(1 for v in row if v and not can_decrypt(v))
    return count
