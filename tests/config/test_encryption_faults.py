"""Fault tests for the encrypted fields (core/encryption.py, docs/security.md).

Each one is a way the old field library destroyed or exposed data: a failed validation that
left reads returning ciphertext, a wrong key shown as data and re-encrypted on save, keys
that hung on SECRET_KEY, and threads that saw each other's validation state.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models

from core.encryption import (
    UndecryptableValue,
    cipher,
    encrypted_fields,
    models_with_encrypted_fields,
)
from families.models import Family
from sponsorship.models import CheckIn
from tests.factories import (
    ConsentFactory,
    FamilyFactory,
    SponsorshipFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(1979, 3, 14)


def _value(field: models.Field, pk: int) -> object:
    if isinstance(field, models.DateField):
        return DAY
    text = f"Fault {field.model._meta.db_table} {field.column} {pk}"
    return text[: field.max_length] if field.max_length else text


@pytest.fixture
def case_file():
    """One or more rows in every table with an encrypted column, every such column filled."""
    sponsorship = SponsorshipFactory(arrival_date=datetime.date(2026, 1, 10))
    family = sponsorship.family
    ConsentFactory(family=family, details="Consent given in person.")
    family.notes.create(author=StaffFactory(), text="A staff note.")
    CheckIn.objects.create(
        sponsorship=sponsorship,
        happened_on=datetime.date(2026, 2, 1),
        who="Group and family",
        wellbeing=CheckIn.Wellbeing.WELL,
        summary="All well.",
        logged_by=StaffFactory(),
    )
    family.current_location = "Somewhere"
    family.save()
    filled: dict[tuple[type[models.Model], int], dict[str, object]] = {}
    for model, fields in models_with_encrypted_fields():
        for pk in model._base_manager.values_list("pk", flat=True):
            values = {f.name: _value(f, pk) for f in fields}
            model._base_manager.filter(pk=pk).update(**values)
            filled[(model, pk)] = values
    tables = {m._meta.db_table for m, _ in filled}
    assert {"families_family", "families_historicalfamily", "sponsorship_checkin"} <= tables
    return filled


def _raw(model: type[models.Model], pk: int) -> dict[str, str | None]:
    fields = encrypted_fields(model)
    q = connection.ops.quote_name
    cols = ", ".join(q(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {cols} FROM {q(model._meta.db_table)} WHERE {q(model._meta.pk.column)} = %s",
            [pk],
        )
        row = cursor.fetchone()
    return {f.name: v for f, v in zip(fields, row, strict=True)}


def _decrypted_raw(model: type[models.Model], pk: int) -> dict[str, str | None]:
    """What the database holds, decrypted exactly once: plaintext if nothing went wrong."""
    return {
        name: None if v is None else cipher().decrypt(v.encode()).decode()
        for name, v in _raw(model, pk).items()
    }


def _as_text(values: dict[str, object]) -> dict[str, str]:
    return {k: v.isoformat() if isinstance(v, datetime.date) else str(v) for k, v in values.items()}


def _bad_value(field: models.Field) -> object:
    if isinstance(field, models.DateField):
        return "not a date"
    if isinstance(field, models.EmailField):
        return "not an e-mail"
    if field.max_length:
        return "x" * (field.max_length + 1)
    return None  # a text field: fails when required; otherwise validation runs and passes


def test_a_failed_validation_of_every_encrypted_field_changes_no_read_and_no_row(case_file):
    for (model, pk), _values in case_file.items():
        instance = model._base_manager.get(pk=pk)
        for field in encrypted_fields(model):
            bad = _bad_value(field)
            with contextlib.suppress(ValidationError):
                field.clean(bad, instance)
    # Family.full_clean as family_create does it, with a location far too long
    family = Family.objects.first()
    family.current_location = "x" * 5000
    with pytest.raises(ValidationError):
        family.full_clean()

    for (model, pk), values in case_file.items():
        instance = model._base_manager.get(pk=pk)
        read = {name: getattr(instance, name) for name in values}
        assert read == values, f"{model._meta.db_table} reads changed after a failed validation"
        instance.save()  # every row saved again...
    for (model, pk), values in case_file.items():  # ...and still holds its plaintext, once
        assert _decrypted_raw(model, pk) == _as_text(values)


def test_a_wrong_key_is_a_loud_error_and_nothing_is_written(case_file, settings):
    before = {key: _raw(*key) for key in case_file}
    settings.FIELD_ENCRYPTION_KEYS = ["a-key-that-never-encrypted-anything"]
    family_pk = Family.objects.values_list("pk", flat=True).first()
    with pytest.raises(UndecryptableValue) as raised:
        Family.objects.get(pk=family_pk)
    assert "families_family." in str(raised.value) and "FIELD_ENCRYPTION_KEYS" in str(raised.value)
    assert "Fault" not in str(raised.value)  # names the column, never the data
    with pytest.raises(UndecryptableValue):
        call_command("reencrypt", stdout=io.StringIO())
    with pytest.raises(Exception):  # noqa: B017 - the command fails, whichever way it says so
        call_command("upgrade_encryption", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = ["development-field-key-not-for-production"]
    assert {key: _raw(*key) for key in case_file} == before


def test_rotating_the_secret_key_leaves_every_row_readable(case_file, settings):
    settings.SECRET_KEY = "a-brand-new-secret-key-after-a-leak-0123456789-abcdefghij"
    settings.SECRET_KEY_FALLBACKS = []
    for (model, pk), values in case_file.items():
        instance = model._base_manager.get(pk=pk)
        assert {name: getattr(instance, name) for name in values} == values


def test_rotating_field_keys_old_to_new_then_dropping_the_old_key(case_file, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["key-2027", "development-field-key-not-for-production"]
    call_command("reencrypt", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = ["key-2027"]
    for (model, pk), values in case_file.items():
        instance = model._base_manager.get(pk=pk)
        assert {name: getattr(instance, name) for name in values} == values
    call_command("upgrade_encryption", "--check", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_eight_threads_reading_and_validating_at_once_never_see_ciphertext():
    family = FamilyFactory(current_location="Seoul", narrative="Thread narrative.")
    seen: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for _ in range(15):
                if n % 2:
                    mine = Family(case_code="X", current_location="y" * 500)
                    with contextlib.suppress(ValidationError):
                        mine.full_clean()
                else:
                    read = Family.objects.get(pk=family.pk)
                    seen.extend([read.current_location, read.narrative])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen and set(seen) == {"Seoul", "Thread narrative."}
