"""Values written by the old field library (keys derived from SECRET_KEY) are rewritten to
the current format by `migrate` / `manage.py upgrade_encryption`: idempotent, resumable."""

from __future__ import annotations

import importlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.encryption import UndecryptableValue
from core.encryption_upgrade import legacy_cipher, upgrade_columns
from families.models import Family, HouseholdMember
from tests.factories import FamilyFactory, HouseholdMemberFactory

pytestmark = pytest.mark.django_db


def _legacy(plaintext: str, times: int = 1) -> str:
    value = plaintext
    for _ in range(times):
        value = legacy_cipher().encrypt(value.encode()).decode()
    return value


def _set_raw(table: str, column: str, pk: int, value: str | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])


def _raw(table: str, column: str, pk: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def old_rows():
    """Three families and members as the old library left them, one value double-wrapped
    by its re-encrypt-on-failure bug."""
    families = [FamilyFactory(principal=False) for _ in range(3)]
    members = [HouseholdMemberFactory(family=f) for f in families]
    for n, (family, member) in enumerate(zip(families, members, strict=True)):
        _set_raw("families_family", "narrative", family.pk, _legacy(f"Old narrative {n}"))
        _set_raw("families_family", "current_location", family.pk, _legacy("Bangkok", times=n + 1))
        _set_raw("families_householdmember", "given_name", member.pk, _legacy(f"Oldname{n}"))
        _set_raw("families_householdmember", "date_of_birth", member.pk, _legacy("1990-05-06"))
    return families, members


def test_old_format_values_are_unreadable_until_upgraded_then_read_as_written(old_rows):
    families, members = old_rows
    with pytest.raises(UndecryptableValue):
        Family.objects.get(pk=families[0].pk)
    with pytest.raises(CommandError):
        call_command("upgrade_encryption", "--check", stdout=io.StringIO())

    out = io.StringIO()
    call_command("upgrade_encryption", stdout=out)
    assert "families.Family: 6 value(s)" in out.getvalue()

    for n, family in enumerate(Family.objects.filter(pk__in=[f.pk for f in families])):
        assert family.narrative == f"Old narrative {n}"
        assert family.current_location == "Bangkok"  # unwrapped however often it was wrapped
    member = HouseholdMember.objects.get(pk=members[2].pk)
    assert member.given_name == "Oldname2" and member.date_of_birth.isoformat() == "1990-05-06"
    call_command("upgrade_encryption", "--check", stdout=io.StringIO())


def test_a_second_run_changes_nothing(old_rows):
    call_command("upgrade_encryption", stdout=io.StringIO())
    before = _raw("families_family", "narrative", old_rows[0][0].pk)
    out = io.StringIO()
    call_command("upgrade_encryption", stdout=out)
    assert "0 value(s) rewritten" in out.getvalue()
    assert _raw("families_family", "narrative", old_rows[0][0].pk) == before


def test_an_unreadable_value_stops_the_run_and_a_second_run_resumes(old_rows, settings):
    families, _ = old_rows
    stranger = "gAAAAABstranger-token-no-key-reads"
    _set_raw("families_family", "address", families[2].pk, stranger)
    with pytest.raises(UndecryptableValue) as raised:
        upgrade_columns(
            connection, "families_family", ["narrative", "address"], legacy=True, batch=1
        )
    assert "families_family.address" in str(raised.value)
    # the batches before the bad row committed; the bad row's batch wrote nothing
    assert Family.objects.filter(pk=families[0].pk).values_list("narrative", flat=True).get()
    assert _raw("families_family", "address", families[2].pk) == stranger
    legacy_narrative = _raw("families_family", "narrative", families[2].pk)
    assert legacy_narrative.startswith("gAAAAA")

    _set_raw("families_family", "address", families[2].pk, None)  # the operator fixes the row
    rewritten = upgrade_columns(
        connection, "families_family", ["narrative", "address"], legacy=True, batch=1
    )
    assert rewritten == 1  # only what was left
    narrative = Family.objects.filter(pk=families[2].pk).values_list("narrative", flat=True)
    assert narrative.get() == "Old narrative 2"


def test_the_migration_upgrades_with_the_old_secret_key_kept_as_a_fallback(old_rows, settings):
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-before-the-upgrade-0123456789-abcdefghijklmnopqrstuvwxyz"
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    migration = importlib.import_module("families.migrations.0005_upgrade_field_encryption")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.upgrade(None, editor)
    assert Family.objects.get(pk=old_rows[0][0].pk).narrative == "Old narrative 0"


def test_columns_stored_in_clear_are_encrypted_in_place_once(sponsorship):
    from sponsorship.models import CheckIn, Milestone

    checkin = CheckIn.objects.create(
        sponsorship=sponsorship,
        happened_on=sponsorship.arrival_date,
        who="placeholder",
        wellbeing=CheckIn.Wellbeing.WELL,
        logged_by=sponsorship.family.case_worker,
    )
    milestone = sponsorship.milestones.first()
    _set_raw("sponsorship_checkin", "who", checkin.pk, "Clearname and her son")
    _set_raw("sponsorship_milestone", "notes", milestone.pk, "")
    _set_raw("sponsorship_milestone", "waiver_reason", milestone.pk, "")
    migration = importlib.import_module("sponsorship.migrations.0005_encrypt_free_text")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.encrypt(None, editor)
    stored = _raw("sponsorship_checkin", "who", checkin.pk)
    migration.encrypt(None, editor)  # a second run leaves it alone

    assert "Clearname" not in stored and _raw("sponsorship_checkin", "who", checkin.pk) == stored
    assert CheckIn.objects.get(pk=checkin.pk).who == "Clearname and her son"
    milestone = Milestone.objects.get(pk=milestone.pk)
    assert milestone.notes == "" and milestone.waiver_reason is None
