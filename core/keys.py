"""The case-file keys: one MultiFernet for every encrypted value (fields and documents).

Keys come from `FIELD_ENCRYPTION_KEYS` alone, newest first, and never from `SECRET_KEY`:
rotating the secret key after a leak must not make a single case file unreadable. Each
configured entry is a high-entropy secret string; HKDF-SHA256 turns it into a Fernet key
once per process (no per-field derivation, no slow start). Encrypting uses the first key;
decrypting tries each in turn, so a rotation is: put the new key first, run `reencrypt`,
then drop the old one (docs/security.md).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Fixed and public on purpose: HKDF's salt separates this use of the keys from any other,
# it is not a secret (the configured keys are).
_SALT = b"hanvoice/case-file-encryption/v1"


def derive_fernet_key(secret: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) for one configured secret string."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"fernet").derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


@functools.cache
def _multi_fernet(secrets: tuple[str, ...]) -> MultiFernet:
    if not secrets:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is empty: case files cannot be encrypted")
    return MultiFernet([Fernet(derive_fernet_key(secret)) for secret in secrets])


def multi_fernet() -> MultiFernet:
    """The process's MultiFernet for the keys configured now (cached per key list, so tests
    and a shell that change FIELD_ENCRYPTION_KEYS get the new list without a restart)."""
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))
