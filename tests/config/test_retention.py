"""The retention policy archives closed case files after the period, and nothing sooner."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from families.models import CaseNote, Family, FamilyStatusChange, HouseholdMember
from tests.factories import FamilyFactory, HouseholdMemberFactory

NAME = "Myonghee Qqvdemo"


def names(family: Family) -> list[str]:
    # Encrypted columns can't be filtered in SQL: compare decrypted values.
    return [m.given_name for m in HouseholdMember.objects.filter(family=family)]


def _closed_family(closed_at: datetime.datetime, author) -> Family:
    family = FamilyFactory(
        status=Family.Status.CLOSED,
        vetted_on=datetime.date(2018, 1, 1),
        narrative="A story that must not outlive the policy.",
        principal=False,
    )
    HouseholdMemberFactory(family=family, given_name=NAME, is_principal_applicant=True)
    CaseNote.objects.create(family=family, author=author, text="Met at the airport.")
    FamilyStatusChange.objects.create(
        family=family, from_status="arrived", to_status="closed", changed_at=closed_at
    )
    return family


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.UTC))
def test_it_archives_a_file_closed_longer_than_the_period(case_worker, settings):
    settings.RETENTION = {"case_file_years": 6, "access_log_years": 6, "donor_years": 7}
    old = _closed_family(datetime.datetime(2020, 1, 5, tzinfo=datetime.UTC), case_worker)
    recent = _closed_family(timezone.now() - datetime.timedelta(days=400), case_worker)

    out = io.StringIO()
    call_command("apply_retention", stdout=out)

    old.refresh_from_db()
    assert old.archived_on == datetime.date(2026, 11, 21)
    assert old.narrative is None
    assert names(old) == ["—"]
    assert HouseholdMember.history.filter(family_id=old.pk).count() == 0
    assert CaseNote.objects.get(family=old).text == "—"
    assert old.case_code in out.getvalue()
    # Not yet due: untouched.
    recent.refresh_from_db()
    assert recent.archived_on is None
    assert names(recent) == [NAME]


@pytest.mark.django_db
def test_a_dry_run_changes_nothing(case_worker):
    family = _closed_family(datetime.datetime(2010, 1, 5, tzinfo=datetime.UTC), case_worker)
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    family.refresh_from_db()
    assert family.archived_on is None
    assert "Would archive 1" in out.getvalue()
