"""Family lifecycle, household, consent: services refuse in words and change nothing."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from families import services
from families.models import Family, FamilyStatusChange, HouseholdMember, one_year_window_closes
from families.selectors import consented_topics, families_by_status
from tests.factories import ConsentFactory, FamilyFactory, HouseholdMemberFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _frozen():
    noon_in_toronto = datetime.datetime(2026, 3, 10, 17, 0, tzinfo=datetime.UTC)
    with time_machine.travel(noon_in_toronto, tick=False):
        yield


def test_it_gives_each_family_a_new_case_code_never_reused(program_manager):
    first = services.family_create(created_by=program_manager, community="Toronto")
    second = services.family_create(created_by=program_manager, community="Toronto")
    assert (first.case_code, second.case_code) == ("NK-2026-001", "NK-2026-002")
    second.delete()
    third = services.family_create(created_by=program_manager)
    assert third.case_code == "NK-2026-003"
    assert third.status == Family.Status.REFERRED


def test_it_walks_the_lifecycle_and_logs_who_when_why(program_manager):
    family = services.family_create(created_by=program_manager)
    services.family_start_vetting(family=family, changed_by=program_manager, reason="To IRCC")
    services.family_approve(
        family=family,
        changed_by=program_manager,
        ircc_reference="IRCC-1",
        vetted_on=datetime.date(2026, 3, 1),
    )
    family.refresh_from_db()
    assert family.status == Family.Status.APPROVED
    assert family.ircc_reference == "IRCC-1"
    log = list(FamilyStatusChange.objects.filter(family=family).order_by("pk"))
    assert [(c.from_status, c.to_status) for c in log[1:]] == [
        ("referred", "vetting"),
        ("vetting", "approved"),
    ]
    assert log[1].changed_by == program_manager and log[1].reason == "To IRCC"


def test_it_refuses_a_transition_that_does_not_exist(program_manager):
    family = services.family_create(created_by=program_manager)
    with pytest.raises(ValidationError, match="cannot move to"):
        services.family_book_travel(family=family, changed_by=program_manager)
    family.refresh_from_db()
    assert family.status == Family.Status.REFERRED
    assert family.status_changes.count() == 1  # only the registration


def test_it_refuses_approval_without_vetting_data_and_changes_nothing(program_manager):
    family = services.family_create(created_by=program_manager)
    services.family_start_vetting(family=family, changed_by=program_manager)
    with pytest.raises(ValidationError, match="IRCC vetting reference"):
        services.family_approve(family=family, changed_by=program_manager)
    family.refresh_from_db()
    assert family.status == Family.Status.VETTING


def test_it_refuses_a_vetting_date_in_the_future(program_manager):
    family = services.family_create(created_by=program_manager)
    services.family_start_vetting(family=family, changed_by=program_manager)
    with pytest.raises(ValidationError, match="future"):
        services.family_approve(
            family=family,
            changed_by=program_manager,
            ircc_reference="X",
            vetted_on=TODAY + datetime.timedelta(days=1),
        )
    family.refresh_from_db()
    assert (family.status, family.vetted_on) == (Family.Status.VETTING, None)


def test_it_refuses_to_close_a_family_with_an_active_sponsorship(sponsorship, case_worker):
    with pytest.raises(ValidationError, match="active sponsorship"):
        services.family_close(family=sponsorship.family, changed_by=case_worker, reason="x")
    sponsorship.family.refresh_from_db()
    assert sponsorship.family.status == Family.Status.ARRIVED


def test_it_closes_a_withdrawn_referral_with_a_reason(case_worker):
    family = services.family_create(created_by=case_worker)
    with pytest.raises(ValidationError, match="why"):
        services.family_close(family=family, changed_by=case_worker, reason=" ")
    services.family_close(family=family, changed_by=case_worker, reason="Referral withdrawn")
    family.refresh_from_db()
    assert family.status == Family.Status.CLOSED


def test_it_allows_exactly_one_principal_applicant():
    family = FamilyFactory()  # has a principal
    with pytest.raises(ValidationError, match="already has a principal"):
        services.household_member_add(
            family=family,
            given_name="Second",
            relationship=HouseholdMember.Relationship.PRINCIPAL,
            is_principal_applicant=True,
        )
    assert family.members.count() == 1


def test_it_refuses_a_member_arriving_after_the_one_year_window():
    family = FamilyFactory(principal=False)
    HouseholdMemberFactory(
        family=family,
        is_principal_applicant=True,
        relationship=HouseholdMember.Relationship.PRINCIPAL,
        arrived_on=datetime.date(2025, 3, 9),
    )
    with pytest.raises(ValidationError, match="One-Year Window"):
        services.household_member_add(
            family=family,
            given_name="Late",
            relationship=HouseholdMember.Relationship.CHILD,
            arrived_on=datetime.date(2026, 3, 10),
        )
    on_time = services.household_member_add(
        family=family,
        given_name="OnTime",
        relationship=HouseholdMember.Relationship.CHILD,
        arrived_on=datetime.date(2026, 3, 9),
    )
    assert family.members.count() == 2
    assert "OnTime" not in str(on_time)  # never a name in __str__


def test_it_closes_the_window_on_28_february_for_a_leap_day_arrival():
    assert one_year_window_closes(datetime.date(2024, 2, 29)) == datetime.date(2025, 2, 28)


def test_it_refuses_an_arrival_in_the_future():
    family = FamilyFactory()
    with pytest.raises(ValidationError, match="before it happens"):
        services.household_member_add(
            family=family,
            given_name="Soon",
            relationship=HouseholdMember.Relationship.CHILD,
            arrived_on=TODAY + datetime.timedelta(days=3),
        )


def test_consent_is_active_only_when_given_not_expired_not_withdrawn(case_worker):
    family = FamilyFactory()
    consent = services.consent_record(
        family=family,
        topic="medical",
        given_on=datetime.date(2026, 1, 1),
        expires_on=datetime.date(2026, 12, 31),
        recorded_by=case_worker,
    )
    assert consent.is_active()
    assert family.consents.active().count() == 1
    assert not consent.is_active(datetime.date(2027, 1, 1))
    services.consent_withdraw(consent=consent, withdrawn_on=TODAY)
    assert family.consents.active().count() == 0
    expired = ConsentFactory(
        family=family, given_on=datetime.date(2025, 1, 1), expires_on=datetime.date(2025, 6, 1)
    )
    assert not expired.is_active()


def test_it_refuses_consent_expiring_before_it_was_given(case_worker):
    with pytest.raises(ValidationError, match="expire after"):
        services.consent_record(
            family=FamilyFactory(),
            topic="medical",
            given_on=datetime.date(2026, 1, 1),
            expires_on=datetime.date(2025, 12, 31),
            recorded_by=case_worker,
        )


def test_it_adds_a_case_note_with_visibility(case_worker):
    family = FamilyFactory()
    note = services.case_note_add(
        family=family, author=case_worker, text="Fictional", visibility="group"
    )
    note.refresh_from_db()
    assert (note.text, note.visibility, note.written_on) == ("Fictional", "group", TODAY)


def test_selectors_count_families_by_status_and_list_consented_topics(case_worker):

    family = FamilyFactory()
    FamilyFactory(status=Family.Status.VETTING)
    counts = families_by_status()
    assert counts["referred"] == 1 and counts["vetting"] == 1 and counts["closed"] == 0
    services.consent_record(
        family=family,
        topic="medical",
        given_on=datetime.date(2026, 1, 1),
        expires_on=datetime.date(2026, 12, 31),
        recorded_by=case_worker,
    )
    assert consented_topics(family) == {"medical"}
    assert consented_topics(family, datetime.date(2027, 1, 1)) == set()
