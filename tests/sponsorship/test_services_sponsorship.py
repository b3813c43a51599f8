"""Matching, arrival, extensions, ending, reviews, waivers and disbursement validation."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from families.models import Family
from sponsorship import services
from sponsorship.models import Disbursement, Extension, Review, SponsorGroup, Sponsorship
from tests.factories import FamilyFactory, SponsorGroupFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db


def _approved_family() -> Family:
    return FamilyFactory(
        status=Family.Status.APPROVED,
        vetted_on=timezone.localdate() - datetime.timedelta(days=60),
        ircc_reference="IRCC-T",
    )


def test_it_matches_an_approved_family_with_an_approved_group(case_worker):
    family = _approved_family()
    group = SponsorGroupFactory(status=SponsorGroup.Status.APPROVED)
    s = services.sponsorship_match(family=family, group=group, matched_by=case_worker)
    family.refresh_from_db()
    group.refresh_from_db()
    assert (s.outcome, family.status, group.status) == ("active", "matched", "active")


def test_it_refuses_to_match_an_unvetted_family_or_a_group_in_screening(case_worker):
    referred = FamilyFactory()
    with pytest.raises(ValidationError, match="only an approved family"):
        services.sponsorship_match(
            family=referred, group=SponsorGroupFactory(), matched_by=case_worker
        )
    screening = SponsorGroupFactory(
        status=SponsorGroup.Status.SCREENING, settlement_plan_approved_on=None
    )
    family = _approved_family()
    with pytest.raises(ValidationError, match="approved or active group"):
        services.sponsorship_match(family=family, group=screening, matched_by=case_worker)
    assert Sponsorship.objects.count() == 0
    family.refresh_from_db()
    assert family.status == Family.Status.APPROVED


def test_it_refuses_a_second_active_sponsorship(sponsorship, case_worker):
    Family.objects.filter(pk=sponsorship.family_id).update(status=Family.Status.APPROVED)
    sponsorship.family.refresh_from_db()
    sponsorship.family.ircc_reference = "X"
    sponsorship.family.save()
    with pytest.raises(ValidationError):
        services.sponsorship_match(
            family=sponsorship.family, group=SponsorGroupFactory(), matched_by=case_worker
        )
    assert Sponsorship.objects.filter(family=sponsorship.family).count() == 1


def test_staff_only_can_match(member):
    with pytest.raises(ValidationError, match="staff"):
        services.sponsorship_match(
            family=_approved_family(), group=SponsorGroupFactory(), matched_by=member
        )


def test_recording_arrival_creates_the_plan_and_moves_the_family(case_worker):
    s = services.sponsorship_match(
        family=_approved_family(),
        group=SponsorGroupFactory(),
        matched_by=case_worker,
        matched_on=timezone.localdate() - datetime.timedelta(days=20),
    )
    arrival = timezone.localdate() - datetime.timedelta(days=5)
    milestones, reviews = services.sponsorship_record_arrival(
        sponsorship=s, arrival_date=arrival, recorded_by=case_worker
    )
    s.refresh_from_db()
    assert s.arrival_date == arrival
    assert s.family.status == Family.Status.ARRIVED
    assert milestones > 10 and reviews == 4
    assert s.family.members.get(is_principal_applicant=True).arrived_on == arrival


@pytest.mark.parametrize(("days", "message"), [(-1, "before it happens"), (30, "before the match")])
def test_it_refuses_an_arrival_in_the_future_or_before_the_match(case_worker, days, message):
    s = services.sponsorship_match(
        family=_approved_family(),
        group=SponsorGroupFactory(),
        matched_by=case_worker,
        matched_on=timezone.localdate() - datetime.timedelta(days=10),
    )
    with pytest.raises(ValidationError, match=message):
        services.sponsorship_record_arrival(
            sponsorship=s,
            arrival_date=timezone.localdate() - datetime.timedelta(days=days),
            recorded_by=case_worker,
        )
    s.refresh_from_db()
    assert s.arrival_date is None and s.milestones.count() == 0


def test_a_program_manager_approves_an_extension_and_a_review_is_scheduled(
    sponsorship, case_worker, program_manager
):
    ext = services.extension_request(
        sponsorship=sponsorship, months=6, reason="Classes", requested_by=case_worker
    )
    with pytest.raises(ValidationError, match="program manager"):
        services.extension_approve(extension=ext, approved_by=case_worker)
    reviews_before = sponsorship.reviews.count()
    services.extension_approve(extension=ext, approved_by=program_manager)
    ext.refresh_from_db()
    assert ext.status == Extension.Status.APPROVED and ext.decided_by == program_manager
    assert Sponsorship.objects.get(pk=sponsorship.pk).committed_months == 18
    assert sponsorship.reviews.count() == reviews_before + 1  # before the new period end


def test_it_refuses_an_extension_past_36_months(sponsorship, case_worker, program_manager):
    ext = services.extension_request(
        sponsorship=sponsorship, months=20, reason="r", requested_by=case_worker
    )
    services.extension_approve(extension=ext, approved_by=program_manager)
    with pytest.raises(ValidationError, match="36 months"):
        services.extension_request(
            sponsorship=sponsorship, months=5, reason="r", requested_by=case_worker
        )
    assert sponsorship.extensions.count() == 1


def test_ending_early_as_self_sufficient_needs_a_review_that_concluded_so(sponsorship, case_worker):
    with pytest.raises(ValidationError, match="self-sufficiency review"):
        services.sponsorship_end(
            sponsorship=sponsorship,
            outcome=Sponsorship.Outcome.SELF_SUFFICIENT,
            ended_by=case_worker,
            reason="Working",
        )
    review = sponsorship.reviews.order_by("scheduled_for").first()
    services.review_record(
        review=review,
        held_on=timezone.localdate(),
        reviewer=case_worker,
        outcome=Review.Outcome.SELF_SUFFICIENT,
        income=5,
    )
    services.sponsorship_end(
        sponsorship=sponsorship,
        outcome=Sponsorship.Outcome.SELF_SUFFICIENT,
        ended_by=case_worker,
        reason="Working",
    )
    sponsorship.refresh_from_db()
    sponsorship.family.refresh_from_db()
    assert sponsorship.outcome == "self_sufficient"
    assert sponsorship.ended_on == timezone.localdate()
    assert sponsorship.family.status == Family.Status.CLOSED


def test_it_refuses_completed_before_the_period_ran_out(sponsorship, case_worker):
    with pytest.raises(ValidationError, match="has not run out"):
        services.sponsorship_end(
            sponsorship=sponsorship, outcome="completed", ended_by=case_worker, reason="r"
        )
    sponsorship.refresh_from_db()
    assert sponsorship.is_active


def test_a_withdrawal_before_arrival_returns_the_family_to_approved(case_worker):
    s = SponsorshipFactory()
    services.sponsorship_end(
        sponsorship=s, outcome="withdrawn", ended_by=case_worker, reason="Group dissolved"
    )
    s.family.refresh_from_db()
    assert s.family.status == Family.Status.APPROVED


def test_staff_waive_a_milestone_the_group_asked_to_waive(sponsorship, case_worker):
    milestone = sponsorship.milestones.first()
    with pytest.raises(ValidationError, match="why"):
        services.milestone_waive(milestone=milestone, waived_by=case_worker, reason="")
    services.milestone_waive(milestone=milestone, waived_by=case_worker, reason="No children")
    milestone.refresh_from_db()
    assert milestone.waived_on == timezone.localdate() and milestone.waived_by == case_worker
    with pytest.raises(ValidationError, match="already waived"):
        services.milestone_waive(milestone=milestone, waived_by=case_worker, reason="again")


@pytest.mark.parametrize(
    ("amount", "month", "field"),
    [(Decimal("0"), 1, "amount"), (Decimal("100"), 13, "month_number")],
)
def test_disbursements_need_a_positive_amount_within_the_period(
    sponsorship, treasurer, amount, month, field
):
    d = Disbursement(
        sponsorship=sponsorship,
        month_number=month,
        amount=amount,
        paid_on=timezone.localdate(),
        method="cash",
        recorded_by=treasurer,
    )
    with pytest.raises(ValidationError) as exc:
        d.full_clean()
    assert field in exc.value.message_dict


def test_a_group_is_approved_with_its_settlement_plan(program_manager, case_worker):
    group = SponsorGroupFactory(status="applied", settlement_plan_approved_on=None)
    with pytest.raises(ValidationError, match="only a group in screening"):
        services.sponsor_group_approve(group=group, approved_by=program_manager)
    services.sponsor_group_transition(group=group, to_status="screening", changed_by=case_worker)
    with pytest.raises(ValidationError, match="program manager"):
        services.sponsor_group_approve(group=group, approved_by=case_worker)
    services.sponsor_group_approve(group=group, approved_by=program_manager)
    group.refresh_from_db()
    assert group.status == "approved"
    assert group.settlement_plan_approved_by == program_manager


@pytest.mark.parametrize("language", ["en", "fr", "ko"])
def test_support_period_errors_show_dates_as_every_page_does(sponsorship, case_worker, language):
    """ "It ends on 2026-07-22" next to pages that say "July 22, 2026": the dates in staff-side
    errors are in the reader's language too."""
    from django.utils import translation
    from django.utils.formats import date_format

    ends_on = Sponsorship.objects.with_period().get(pk=sponsorship.pk).support_ends_on
    with translation.override(language):
        with pytest.raises(ValidationError) as ended:
            services.sponsorship_end(
                sponsorship=sponsorship,
                outcome=Sponsorship.Outcome.COMPLETED,
                ended_by=case_worker,
                reason="Done",
            )
        with pytest.raises(ValidationError) as arrived:
            services.sponsorship_record_arrival(
                sponsorship=sponsorship,
                arrival_date=sponsorship.arrival_date,
                recorded_by=case_worker,
            )
        for error, day in ((ended, ends_on), (arrived, sponsorship.arrival_date)):
            text = " ".join(error.value.messages)
            assert day.isoformat() not in text
            assert date_format(day, "DATE_FORMAT") in text, text
    if language == "ko":
        assert f"{ends_on.year}년 {ends_on.month}월 {ends_on.day}일" in " ".join(
            ended.value.messages
        )
