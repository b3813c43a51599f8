"""A raw dump of the database does not reveal who the families are (PostgreSQL only).

The demo data is committed (a transactional test), `pg_dump` reads the test database as an
attacker with a stolen backup would, and no household member's name, date of birth or case
narrative may appear in it: those columns are encrypted at rest (core/encryption.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.db import connection

from families.models import Family, HouseholdMember
from sponsorship import demo

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_dump needs PostgreSQL: run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed"),
    pytest.mark.django_db(transaction=True),
]


def _dump() -> str:
    db = connection.settings_dict
    command = [shutil.which("pg_dump") or "pg_dump", "--no-owner", "--data-only", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return done.stdout


def test_a_raw_pg_dump_holds_no_household_name_birth_date_or_narrative():

    demo.seed()
    secrets = set()
    for member in HouseholdMember.objects.all():
        secrets.update(n for n in (member.given_name, member.family_name) if n)
        if member.date_of_birth:
            secrets.add(member.date_of_birth.isoformat())
    for family in Family.objects.all():
        secrets.update(t for t in (family.narrative, family.sgbv_notes) if t)
    assert "Testa" in secrets and len(secrets) > 15

    dump = _dump()

    assert "COPY public.families_family" in dump  # the tables are in the dump...
    assert any(f.case_code in dump for f in Family.objects.all())  # ...searchable by case code
    leaked = sorted(s for s in secrets if s in dump)
    assert not leaked, f"readable in a raw pg_dump: {leaked}"
