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


def _portal_and_admin_journeys(*, sponsorship, coordinator, treasurer, program_manager) -> dict:
    """Type a distinctive value into every free-text box of the portal and the admin that
    can hold a person's words; returns {label: value}. Each journey's row is checked to hold
    the value (so a journey that silently failed cannot make the dump test pass)."""
    import datetime
    import uuid

    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from config.models import BreachRecord
    from families.models import FamilyStatusChange
    from sponsorship.models import CheckIn, Disbursement, Extension, Milestone, Review
    from tests.factories import FamilyFactory

    today = timezone.localdate()
    typed = {}
    portal, money, staff = Client(), Client(), Client()
    portal.force_login(coordinator)
    money.force_login(treasurer)
    staff.force_login(program_manager)
    first, second, third = list(sponsorship.milestones.filter(completed_on__isnull=True))[:3]
    review = sponsorship.reviews.first()

    def post(client, url, data, value_of):
        response = client.post(url, data)
        assert response.status_code in (200, 302), url
        return value_of()

    typed["check-in who"] = "Whozzyx Ryu and her aunt"
    typed["check-in summary"] = "Summzzyx the daughter cried at school"
    assert (
        post(
            portal,
            reverse("portal:checkin-create", args=[sponsorship.public_id]),
            {
                "request_token": str(uuid.uuid4()),
                "happened_on": today.isoformat(),
                "kind": "visit",
                "who": typed["check-in who"],
                "wellbeing": "coping",
                "summary": typed["check-in summary"],
                "concern_level": "none",
            },
            lambda: CheckIn.objects.get(sponsorship=sponsorship).who,
        )
        == typed["check-in who"]
    )
    typed["milestone done note"] = "Donezzyx clinic in Scarborough"
    assert post(
        portal,
        reverse("portal:milestone-complete", args=[first.public_id]),
        {"completed_on": today.isoformat(), "note": typed["milestone done note"]},
        lambda: Milestone.objects.get(pk=first.pk).notes,
    ).endswith(typed["milestone done note"])
    typed["milestone note"] = "Notezzyx she fears the embassy"
    assert typed["milestone note"] in post(
        portal,
        reverse("portal:milestone-note", args=[second.public_id]),
        {"text": typed["milestone note"]},
        lambda: Milestone.objects.get(pk=second.pk).notes,
    )
    typed["waiver reason"] = "Waivzzyx husband still in Hyesan"
    assert (
        post(
            portal,
            reverse("portal:milestone-waiver", args=[third.public_id]),
            {"reason": typed["waiver reason"]},
            lambda: Milestone.objects.get(pk=third.pk).waiver_reason,
        )
        == typed["waiver reason"]
    )
    typed["review input"] = "Revzzyx nightmares since the crossing"
    assert (
        post(
            portal,
            reverse("portal:review-input", args=[review.public_id]),
            {"text": typed["review input"]},
            lambda: Review.objects.get(pk=review.pk).group_input,
        )
        == typed["review input"]
    )
    typed["disbursement note"] = "Dizzyx paid to her sister's account"
    assert (
        post(
            money,
            reverse("portal:disbursement-create", args=[sponsorship.public_id]),
            {
                "request_token": str(uuid.uuid4()),
                "kind": "income",
                "month_number": "1",
                "amount": "100.00",
                "paid_on": today.isoformat(),
                "method": "cheque",
                "note": typed["disbursement note"],
            },
            lambda: Disbursement.objects.get(sponsorship=sponsorship).note,
        )
        == typed["disbursement note"]
    )

    sponsorships = reverse("admin:sponsorship_sponsorship_changelist")
    typed["extension reason"] = "Extzzyx trauma therapy not finished"
    assert (
        post(
            staff,
            sponsorships,
            {
                "action": "request_extension",
                "_selected_action": [sponsorship.pk],
                "apply": "1",
                "months": "3",
                "reason": typed["extension reason"],
            },
            lambda: Extension.objects.get(sponsorship=sponsorship).reason,
        )
        == typed["extension reason"]
    )
    extension = Extension.objects.get(sponsorship=sponsorship)
    typed["extension decision"] = "Decizzyx approved given the hospital stay"
    assert (
        post(
            staff,
            reverse("admin:sponsorship_extension_changelist"),
            {
                "action": "approve_extension",
                "_selected_action": [extension.pk],
                "apply": "1",
                "note": typed["extension decision"],
            },
            lambda: Extension.objects.get(pk=extension.pk).decision_note,
        )
        == typed["extension decision"]
    )
    typed["waived by staff"] = "Waistaffzzyx she cannot travel to Ottawa"
    assert (
        post(
            staff,
            reverse("admin:sponsorship_milestone_changelist"),
            {
                "action": "waive",
                "_selected_action": [third.pk],
                "apply": "1",
                "reason": typed["waived by staff"],
            },
            lambda: Milestone.objects.get(pk=third.pk).waiver_reason,
        )
        == typed["waived by staff"]
    )
    closing = FamilyFactory()
    typed["close reason"] = "Closzzyx family moved to be near her brother"
    assert (
        post(
            staff,
            reverse("admin:families_family_changelist"),
            {
                "action": "close",
                "_selected_action": [closing.pk],
                "apply": "1",
                "reason": typed["close reason"],
            },
            lambda: FamilyStatusChange.objects.filter(family=closing).first().reason,
        )
        == typed["close reason"]
    )
    typed["end reason"] = "Endzzyx the group could not show it met its duties"
    assert (
        post(
            staff,
            sponsorships,
            {
                "action": "end_sponsorship",
                "_selected_action": [sponsorship.pk],
                "apply": "1",
                "outcome": "default",
                "ended_on": today.isoformat(),
                "reason": typed["end reason"],
            },
            lambda: type(sponsorship).objects.get(pk=sponsorship.pk).end_reason,
        )
        == typed["end reason"]
    )
    typed["breach"] = "Breazzyx laptop with her file left on a bus"
    assert (
        post(
            staff,
            reverse("admin:config_breachrecord_add"),
            {
                "occurred_on": (today - datetime.timedelta(days=1)).isoformat(),
                "discovered_on": today.isoformat(),
                "data_affected": "case_file",
                "what_happened": typed["breach"],
                "people_affected": "1",
                "risk": "real_risk",
                "containment": "",
                "who_was_told": "",
            },
            lambda: BreachRecord.objects.get().what_happened,
        )
        == typed["breach"]
    )
    return typed


def test_what_people_type_in_the_portal_and_the_admin_is_not_in_a_raw_pg_dump(
    sponsorship, coordinator, treasurer, program_manager
):
    typed = _portal_and_admin_journeys(
        sponsorship=sponsorship,
        coordinator=coordinator,
        treasurer=treasurer,
        program_manager=program_manager,
    )
    dump = _dump()
    assert sponsorship.family.case_code in dump  # the rows are there...
    leaked = sorted(label for label, value in typed.items() if value in dump)
    assert not leaked, f"readable in a raw pg_dump: {leaked}"
    assert "zzyx" not in dump  # ...and no fragment of anything typed, history tables included
