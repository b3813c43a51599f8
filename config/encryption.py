"""Helpers around the encrypted case-file fields (django-fernet-encrypted-fields)."""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import apps
from django.db import models, transaction
from encrypted_fields.fields import EncryptedFieldMixin


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]


def models_with_encrypted_fields() -> Iterator[tuple[type[models.Model], list[models.Field]]]:
    """Every model (history tables included) holding at least one encrypted field."""
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if fields:
            yield model, fields


def forget_cached_keys() -> None:
    """Fields cache their derived keys; after FIELD_ENCRYPTION_KEYS changes in a running
    process (tests, the shell), drop the cache so the new list is used."""
    for _, fields in models_with_encrypted_fields():
        for field in fields:
            field.__dict__.pop("keys", None)
            field.__dict__.pop("f", None)


def reencrypt_model(model: type[models.Model], fields: list[models.Field], batch: int = 500) -> int:
    """Rewrite every row's encrypted values with the newest key; returns rows rewritten.

    Reads decrypt with any configured key; `bulk_update` encrypts with the first one.
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
