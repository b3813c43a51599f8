"""The portal's write services: what they refuse (and that a refusal stores nothing), and
that a repeated submission writes one row."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from sponsorship import portal_services
from sponsorship.budget import CostTable, budget_for
from sponsorship.models import (
    CheckIn,
    Disbursement,
    GroupMessage,
    GroupMessageRead,
    Invitation,
    Membership,
    Milestone,
    Reminder,
)
from sponsorship.portal_selectors import urgent_checkins_unacknowledged
from tests.factories import HouseholdMemberFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.timedelta(0)
DAY = datetime.timedelta(days=1)


def _open(sponsorship) -> Milestone:
    return sponsorship.milestones.filter(completed_on__isnull=True).first()


# --- milestones -------------------------------------------------------------------------------


def test_it_marks_a_milestone_done_with_a_note(sponsorship, coordinator):
    milestone = _open(sponsorship)
    today = timezone.localdate()
    portal_services.milestone_complete(
        milestone=milestone, user=coordinator, completed_on=today, note="Went with Cora"
    )
    milestone.refresh_from_db()
    assert milestone.completed_on == today
    assert milestone.completed_by == coordinator
    assert "Went with Cora" in milestone.notes


def test_it_refuses_a_done_date_in_the_future(sponsorship, coordinator):
    milestone = _open(sponsorship)
    with pytest.raises(ValidationError) as exc:
        portal_services.milestone_complete(
            milestone=milestone, user=coordinator, completed_on=timezone.localdate() + DAY
        )
    assert "future" in str(exc.value)
    milestone.refresh_from_db()
    assert milestone.completed_on is None


def test_it_refuses_a_done_date_before_the_sponsorship(sponsorship, coordinator):
    milestone = _open(sponsorship)
    with pytest.raises(ValidationError) as exc:
        portal_services.milestone_complete(
            milestone=milestone,
            user=coordinator,
            completed_on=sponsorship.matched_on - datetime.timedelta(days=1),
        )
    assert "completed_on" in exc.value.error_dict
    milestone.refresh_from_db()
    assert milestone.completed_on is None


def test_it_treats_the_same_completion_twice_as_one(sponsorship, coordinator):
    milestone = _open(sponsorship)
    today = timezone.localdate()
    portal_services.milestone_complete(
        milestone=milestone, user=coordinator, completed_on=today, note="x"
    )
    portal_services.milestone_complete(
        milestone=milestone, user=coordinator, completed_on=today, note="x"
    )
    milestone.refresh_from_db()
    assert milestone.notes.count("x") == 1
    with pytest.raises(ValidationError):
        portal_services.milestone_complete(
            milestone=milestone, user=coordinator, completed_on=today - DAY
        )


def test_it_adds_a_group_item_once_within_the_support_period(sponsorship, coordinator):
    due = timezone.localdate() + datetime.timedelta(days=10)
    first = portal_services.milestone_add_group_item(
        sponsorship=sponsorship, user=coordinator, title="Winter tires", due_on=due
    )
    again = portal_services.milestone_add_group_item(
        sponsorship=sponsorship, user=coordinator, title="Winter tires ", due_on=due
    )
    assert first.pk == again.pk
    assert first.added_by_group
    assert sponsorship.milestones.filter(title="Winter tires").count() == 1


@pytest.mark.parametrize("days_after_end", [1, 400])
def test_it_refuses_a_group_item_due_after_support_ends(sponsorship, coordinator, days_after_end):
    before = sponsorship.milestones.count()
    with pytest.raises(ValidationError) as exc:
        portal_services.milestone_add_group_item(
            sponsorship=sponsorship,
            user=coordinator,
            title="Late",
            due_on=sponsorship.support_ends_on + datetime.timedelta(days=days_after_end),
        )
    assert "due_on" in exc.value.error_dict
    assert sponsorship.milestones.count() == before


def test_it_records_a_waiver_request_with_its_reason(sponsorship, coordinator):
    milestone = sponsorship.milestones.get(title__startswith="Travel loan")
    portal_services.milestone_request_waiver(
        milestone=milestone, user=coordinator, reason="The family has no travel loan."
    )
    milestone.refresh_from_db()
    assert milestone.waiver_requested_on == timezone.localdate()
    assert milestone.waiver_requested_by == coordinator
    assert milestone.waived_on is None  # staff decide


def test_it_refuses_a_waiver_without_a_reason_or_for_a_done_item(sponsorship, coordinator):
    milestone = _open(sponsorship)
    with pytest.raises(ValidationError):
        portal_services.milestone_request_waiver(milestone=milestone, user=coordinator, reason="  ")
    portal_services.milestone_complete(
        milestone=milestone, user=coordinator, completed_on=timezone.localdate()
    )
    with pytest.raises(ValidationError):
        portal_services.milestone_request_waiver(
            milestone=milestone, user=coordinator, reason="why"
        )
    milestone.refresh_from_db()
    assert milestone.waiver_requested_on is None


def test_it_appends_signed_notes_once(sponsorship, member):
    milestone = _open(sponsorship)
    portal_services.milestone_add_note(milestone=milestone, user=member, text="Called the bank")
    portal_services.milestone_add_note(milestone=milestone, user=member, text="Called the bank")
    portal_services.milestone_add_note(milestone=milestone, user=member, text="Appointment Tuesday")
    milestone.refresh_from_db()
    lines = milestone.notes.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("Called the bank")


# --- check-ins --------------------------------------------------------------------------------


def _checkin(sponsorship, user, **overrides):
    data = {
        "sponsorship": sponsorship,
        "user": user,
        "happened_on": timezone.localdate(),
        "kind": CheckIn.Kind.VISIT,
        "who": "Bob and the family",
        "wellbeing": CheckIn.Wellbeing.WELL,
        "summary": "Settling in.",
        "request_token": uuid.uuid4(),
    }
    data.update(overrides)
    return portal_services.checkin_create(**data)


def test_it_logs_a_check_in_once_per_request_token(sponsorship, member):
    token = uuid.uuid4()
    first = _checkin(sponsorship, member, request_token=token)
    second = _checkin(sponsorship, member, request_token=token)
    assert first.pk == second.pk
    assert CheckIn.objects.filter(sponsorship=sponsorship).count() == 1


def test_it_refuses_a_check_in_in_the_future_or_before_the_sponsorship(sponsorship, member):
    for day in (timezone.localdate() + DAY, sponsorship.matched_on - DAY):
        with pytest.raises(ValidationError) as exc:
            _checkin(sponsorship, member, happened_on=day)
        assert "happened_on" in exc.value.error_dict
    assert not CheckIn.objects.exists()


def test_it_wants_a_concern_described(sponsorship, member):
    with pytest.raises(ValidationError) as exc:
        _checkin(sponsorship, member, concern_level=CheckIn.Concern.URGENT, concern="")
    assert "concern" in exc.value.error_dict
    assert not CheckIn.objects.exists()


def test_it_tells_the_case_worker_about_an_urgent_concern(
    sponsorship, member, case_worker, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        checkin = _checkin(
            sponsorship, member, concern_level=CheckIn.Concern.URGENT, concern="No heating"
        )
        _checkin(sponsorship, member, concern_level=CheckIn.Concern.CONCERN, concern="Lonely")
    urgent = Reminder.objects.get(kind=Reminder.Kind.URGENT_CONCERN)
    assert (urgent.subject_key, urgent.recipient) == (f"checkin:{checkin.pk}", case_worker)
    assert urgent.sent_at is not None
    assert [m.to for m in mailoutbox] == [[case_worker.email]]
    assert sponsorship.family.case_code in mailoutbox[0].subject
    assert "No heating" not in mailoutbox[0].subject
    assert list(urgent_checkins_unacknowledged()) == [checkin]
    checkin.acknowledged_at = timezone.now()
    checkin.save()
    assert not urgent_checkins_unacknowledged().exists()


# --- income support ---------------------------------------------------------------------------


def _pay(sponsorship, user, **overrides):
    data = {
        "sponsorship": sponsorship,
        "user": user,
        "kind": Disbursement.Kind.INCOME_SUPPORT,
        "month_number": 1,
        "amount": Decimal("1100.00"),
        "paid_on": sponsorship.arrival_date,
        "method": Disbursement.Method.ETRANSFER,
        "request_token": uuid.uuid4(),
    }
    data.update(overrides)
    return portal_services.disbursement_record(**data)


def test_it_plans_from_the_cost_table_by_household_size(sponsorship):
    plan = budget_for(sponsorship)  # the principal applicant alone
    assert plan.family_size == 1
    assert plan.monthly == Decimal("1100.00") and plan.start_up_planned == Decimal("3300")
    for _ in range(2):
        HouseholdMemberFactory(family=sponsorship.family)
    plan = budget_for(sponsorship)
    assert plan.family_size == 3
    assert plan.monthly == Decimal("1700.00")  # 20,400 / 12
    big = CostTable.load().for_size(8)  # 6 + two extra people
    assert big == (Decimal("28900"), Decimal("12000"))


def test_it_sums_what_was_paid_and_what_is_owed_this_month(sponsorship, treasurer):
    # Month 4 (arrived 100 days ago): planned to date = 3,300 + 4 × 1,100.
    _pay(sponsorship, treasurer, kind=Disbursement.Kind.START_UP, amount=Decimal("3300"))
    for month in (1, 2, 3):
        _pay(sponsorship, treasurer, month_number=month)
    budget = budget_for(sponsorship)
    assert budget.current_month == 4
    assert budget.planned_to_date == Decimal("7700.00")
    assert budget.paid_total == Decimal("6600.00")
    assert budget.owed_this_month == Decimal("1100.00")
    assert [m.paid for m in budget.months[:4]] == [Decimal("1100.00")] * 3 + [Decimal("0")]


def test_it_records_a_payment_once_per_request_token(sponsorship, treasurer):
    token = uuid.uuid4()
    _pay(sponsorship, treasurer, request_token=token)
    _pay(sponsorship, treasurer, request_token=token)
    assert Disbursement.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("amount", {"amount": Decimal("-5")}),
        ("amount", {"amount": Decimal("0")}),
        ("amount", {"amount": Decimal("2200.01")}),  # more than twice the monthly plan
        ("amount", {"kind": "start_up", "amount": Decimal("6600.01")}),
        ("month_number", {"month_number": 13}),
        ("month_number", {"month_number": 9}),  # month 9 has not started (we are in month 4)
        ("paid_on", {"paid_on": "future"}),
        ("paid_on", {"paid_on": "long before arrival"}),
    ],
)
def test_it_refuses_absurd_payments_and_stores_nothing(sponsorship, treasurer, field, overrides):
    if overrides.get("paid_on") == "future":
        overrides["paid_on"] = timezone.localdate() + DAY
    elif overrides.get("paid_on") == "long before arrival":
        overrides["paid_on"] = sponsorship.arrival_date - datetime.timedelta(days=60)
    with pytest.raises(ValidationError) as exc:
        _pay(sponsorship, treasurer, **overrides)
    assert field in exc.value.error_dict
    assert not Disbursement.objects.exists()


def test_the_sanity_bound_counts_what_was_already_paid_that_month(sponsorship, treasurer):
    _pay(sponsorship, treasurer, amount=Decimal("2000"))
    with pytest.raises(ValidationError):
        _pay(sponsorship, treasurer, amount=Decimal("300"))
    assert Disbursement.objects.count() == 1


def test_it_refuses_payments_before_arrival(case_worker, treasurer, group):
    waiting = SponsorshipFactory(group=group, arrival_date=None)
    with pytest.raises(ValidationError):
        _pay(waiting, treasurer, paid_on=timezone.localdate())
    assert not Disbursement.objects.exists()


# --- reviews ----------------------------------------------------------------------------------


def test_it_stores_the_groups_input_until_the_review_is_held(sponsorship, coordinator):
    review = sponsorship.reviews.first()
    portal_services.review_submit_group_input(review=review, user=coordinator, text="Going well.")
    review.refresh_from_db()
    assert review.group_input == "Going well." and review.group_input_by == coordinator
    review.held_on, review.outcome = timezone.localdate(), "on_track"
    review.save()
    with pytest.raises(ValidationError):
        portal_services.review_submit_group_input(review=review, user=coordinator, text="Later")
    review.refresh_from_db()
    assert review.group_input == "Going well."


# --- invitations ------------------------------------------------------------------------------


def test_it_invites_by_email_with_a_single_use_hashed_token(
    group, case_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = portal_services.invitation_create(
            email="New.Person@Example.org", group=group, role="treasurer", invited_by=case_worker
        )
    assert invitation.email == "new.person@example.org"
    assert token not in invitation.token_hash
    assert (invitation.expires_at - invitation.created_at).days == 7
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert group.name not in mail.outbox[0].subject

    user = portal_services.invitation_accept(
        token=token, password="a long passphrase 42", first_name="Nina"
    )
    assert user.email == "new.person@example.org" and user.check_password("a long passphrase 42")
    assert Membership.objects.get(user=user, group=group).role == "treasurer"
    with pytest.raises(ValidationError, match="already been used"):
        portal_services.invitation_accept(token=token, password="another long passphrase")


def test_it_refuses_an_expired_invitation(group, case_worker, time_machine):
    _invitation, token = portal_services.invitation_create(
        email="late@example.org", group=group, role="member", invited_by=case_worker
    )
    time_machine.move_to(timezone.now() + datetime.timedelta(days=8))
    with pytest.raises(ValidationError, match="expired"):
        portal_services.invitation_accept(token=token, password="a long passphrase 42")
    assert not Membership.objects.filter(user__email="late@example.org").exists()


def test_a_new_invitation_replaces_the_earlier_link(group, case_worker):
    _first, old_token = portal_services.invitation_create(
        email="p@example.org", group=group, role="member", invited_by=case_worker
    )
    _second, new_token = portal_services.invitation_create(
        email="p@example.org", group=group, role="member", invited_by=case_worker
    )
    with pytest.raises(ValidationError, match="expired"):
        portal_services.invitation_accept(token=old_token, password="a long passphrase 42")
    portal_services.invitation_accept(token=new_token, password="a long passphrase 42")


def test_only_case_staff_may_invite_and_not_existing_members(
    group, coordinator, fundraiser, case_worker
):
    for user in (coordinator, fundraiser):
        with pytest.raises(ValidationError):
            portal_services.invitation_create(
                email="x@example.org", group=group, role="member", invited_by=user
            )
    with pytest.raises(ValidationError) as exc:
        portal_services.invitation_create(
            email="CORA@example.org", group=group, role="member", invited_by=case_worker
        )
    assert "email" in exc.value.error_dict
    assert not Invitation.objects.exists()


def test_it_refuses_a_weak_password_and_creates_nothing(group, case_worker):
    _invitation, token = portal_services.invitation_create(
        email="weak@example.org", group=group, role="member", invited_by=case_worker
    )
    with pytest.raises(ValidationError) as exc:
        portal_services.invitation_accept(token=token, password="12345")
    assert "password1" in exc.value.error_dict
    assert not Membership.objects.filter(user__email="weak@example.org").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_existing_account_joins_only_when_signed_in_as_itself(
    group, other_group, case_worker, other_member, member
):
    _invitation, token = portal_services.invitation_create(
        email=other_member.email, group=group, role="member", invited_by=case_worker
    )
    with pytest.raises(ValidationError, match="sign in"):
        portal_services.invitation_accept(token=token, user=member)
    portal_services.invitation_accept(token=token, user=other_member)
    assert Membership.objects.filter(user=other_member).count() == 2


# --- inbox ------------------------------------------------------------------------------------


def test_it_marks_only_the_users_own_items_read(sponsorship, member, coordinator, case_worker):
    mine = Reminder.objects.create(
        kind="milestone_due", subject_key="m:1", due_on=timezone.localdate(), recipient=member
    )
    theirs = Reminder.objects.create(
        kind="milestone_due", subject_key="m:1", due_on=timezone.localdate(), recipient=coordinator
    )
    message = GroupMessage.objects.create(
        group=sponsorship.group, sender=case_worker, subject="Hello", body="Welcome"
    )
    changed = portal_services.inbox_mark_read(
        user=member, reminder_ids=[mine.pk, theirs.pk], message_ids=[message.public_id]
    )
    assert changed == 2
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.read_at and theirs.read_at is None
    assert GroupMessageRead.objects.filter(user=member, message=message).exists()
    assert not GroupMessageRead.objects.filter(user=coordinator).exists()
    assert portal_services.inbox_mark_read(user=member, message_ids=[message.public_id]) == 0
