"""Identifying fields are encrypted at rest; keys rotate without losing a row."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from families.models import HouseholdMember
from tests.factories import FamilyFactory, HouseholdMemberFactory

NAME = "Soonhee Zzyzxdemo"


@pytest.fixture
def keys(settings):
    def use(*values: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(values)

    return use


def raw(column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM families_householdmember WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_names_and_birth_dates_are_not_in_the_database_in_clear(keys):
    keys("key-one")
    member = HouseholdMemberFactory(given_name=NAME, family=FamilyFactory(principal=False))
    stored = raw("given_name", member.pk)
    assert NAME not in stored
    assert "1988" not in raw("date_of_birth", member.pk)
    assert HouseholdMember.objects.get(pk=member.pk).given_name == NAME


@pytest.mark.django_db
def test_it_rotates_keys_old_still_decrypts_new_writes_use_the_new_one(keys):
    keys("old-key")
    member = HouseholdMemberFactory(given_name=NAME, family=FamilyFactory(principal=False))
    before = raw("given_name", member.pk)

    keys("new-key", "old-key")
    assert HouseholdMember.objects.get(pk=member.pk).given_name == NAME
    call_command("reencrypt", stdout=io.StringIO())
    assert raw("given_name", member.pk) != before

    keys("new-key")  # the old key is gone: rows must already be under the new one
    assert HouseholdMember.objects.get(pk=member.pk).given_name == NAME


@pytest.mark.django_db
def test_history_rows_are_encrypted_too(keys):
    keys("key-one")
    member = HouseholdMemberFactory(given_name=NAME, family=FamilyFactory(principal=False))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT given_name FROM families_historicalhouseholdmember WHERE id = %s", [member.pk]
        )
        stored = cursor.fetchone()[0]
    assert NAME not in stored
