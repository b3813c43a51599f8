from __future__ import annotations

import datetime

import pytest

from config.models import BreachRecord


@pytest.mark.django_db
def test_a_program_manager_records_a_breach(client, program_manager):
    client.force_login(program_manager)
    response = client.post(
        "/admin/config/breachrecord/add/",
        {
            "occurred_on": "2026-11-01",
            "discovered_on": "2026-11-02",
            "data_affected": "case_file",
            "what_happened": "A laptop with an export for NK-2026-001 was lost.",
            "people_affected": "3",
            "risk": "real_risk",
            "containment": "Remote wipe.",
            "who_was_told": "Privacy Commissioner on 2026-11-03.",
        },
    )
    assert response.status_code == 302
    record = BreachRecord.objects.get()
    assert record.recorded_by == program_manager
    assert record.occurred_on == datetime.date(2026, 11, 1)


@pytest.mark.django_db
def test_it_refuses_discovery_before_occurrence(client, program_manager):
    client.force_login(program_manager)
    response = client.post(
        "/admin/config/breachrecord/add/",
        {
            "occurred_on": "2026-11-05",
            "discovered_on": "2026-11-02",
            "data_affected": "donor",
            "what_happened": "x",
            "people_affected": "1",
            "risk": "low",
        },
    )
    assert response.status_code == 200
    assert not BreachRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["case_worker", "fundraiser"])
def test_other_staff_cannot_open_the_register(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/admin/config/breachrecord/").status_code == 403


@pytest.mark.django_db
def test_nobody_deletes_a_breach_record(client, program_manager):
    record = BreachRecord.objects.create(
        occurred_on=datetime.date(2026, 1, 1),
        discovered_on=datetime.date(2026, 1, 2),
        data_affected="other",
        what_happened="x",
        risk="low",
        recorded_by=program_manager,
    )
    client.force_login(program_manager)
    response = client.post(f"/admin/config/breachrecord/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert BreachRecord.objects.filter(pk=record.pk).exists()
