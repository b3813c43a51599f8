"""Need-to-know for staff (docs/security.md): case workers see the families assigned to them;
another family's file opens only with a stated reason, logged and shown to program managers."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from families.access import families_visible_to
from families.models import CaseFileAccess
from tests.factories import FamilyFactory

pytestmark = pytest.mark.django_db

REASON = "Covering for Dana while she is on leave: the family called about housing."


@pytest.fixture
def files(case_worker):
    return FamilyFactory(case_worker=case_worker), FamilyFactory()


def test_the_scope_is_assigned_files_for_case_workers_all_for_managers_none_for_fundraising(
    files, case_worker, program_manager, fundraiser
):
    mine, other = files
    assert set(families_visible_to(case_worker)) == {mine}
    assert {mine, other} <= set(families_visible_to(program_manager))
    assert not families_visible_to(fundraiser).exists()


def test_the_family_list_shows_a_case_worker_only_their_files_and_logs_each(
    client, files, case_worker
):
    mine, other = files
    client.force_login(case_worker)
    page = client.get(reverse("admin:families_family_changelist")).content.decode()
    assert mine.case_code in page and other.case_code not in page
    assert "Open another family&#x27;s file" in page or "Open another family's file" in page
    listed = CaseFileAccess.objects.filter(user=case_worker, action="list")
    assert [a.family for a in listed] == [mine]


def test_opening_another_file_needs_a_reason_recorded_and_shown_to_managers(
    client, files, case_worker, program_manager
):
    mine, other = files
    change = reverse("admin:families_family_change", args=[other.pk])
    client.force_login(case_worker)

    asked = client.get(change)
    assert asked.status_code == 302 and asked["Location"].startswith(
        reverse("admin:families_family_open")
    )
    form = client.get(asked["Location"])
    assert form.status_code == 200 and other.case_code in form.content.decode()
    assert "Testgiven" not in form.content.decode()  # nothing of the file before the reason

    too_short = client.post(
        reverse("admin:families_family_open"),
        {"case_code": other.case_code, "reason": "need it", "next": change},
    )
    assert too_short.status_code == 400 and "at least 10 characters" in too_short.content.decode()
    assert not CaseFileAccess.objects.filter(action="glass").exists()

    opened = client.post(
        reverse("admin:families_family_open"),
        {"case_code": other.case_code, "reason": REASON, "next": change},
    )
    assert opened.status_code == 302 and opened["Location"] == change
    assert client.get(change).status_code == 200
    glass = CaseFileAccess.objects.get(action="glass")
    assert (glass.family, glass.user, glass.reason) == (other, case_worker, REASON)

    client.force_login(program_manager)
    page = client.get(change).content.decode()
    assert "Who viewed this file" in page and REASON in page
    log = client.get(reverse("admin:families_casefileaccess_changelist")).content.decode()
    assert REASON in log


def test_the_glass_closes_again_after_the_configured_hours(client, files, case_worker, settings):
    _mine, other = files
    settings.CASE_FILE_BREAK_GLASS_HOURS = 8
    CaseFileAccess.objects.create(
        family=other,
        user=case_worker,
        action="glass",
        reason=REASON,
        page="/admin/families/family/open/",
        at=timezone.now() - datetime.timedelta(hours=9),
    )
    client.force_login(case_worker)
    response = client.get(reverse("admin:families_family_change", args=[other.pk]))
    assert response.status_code == 302


def test_program_managers_and_fundraisers_have_no_glass_to_break(
    client, program_manager, fundraiser
):
    for user in (program_manager, fundraiser):
        client.force_login(user)
        assert client.get(reverse("admin:families_family_open")).status_code == 403
