"""The reminder sweep and delivery: who is told what, when, and exactly once."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.core import mail
from django.utils import timezone

from core.roles import CASE_WORKER
from families.models import CaseFileAccess, Family
from sponsorship import reminders, services, tasks
from sponsorship.models import (
    CheckIn,
    Extension,
    Membership,
    MonitoringContact,
    MonitoringSchedule,
    NotificationPreference,
    Reminder,
    ReminderRule,
    Sponsorship,
)
from tests.factories import (
    HouseholdMemberFactory,
    MembershipFactory,
    SponsorGroupFactory,
    SponsorshipFactory,
    StaffFactory,
)
from tests.sponsorship.reminder_helpers import local, milestone, review, rows, sent_to, sweep

K = Reminder.Kind
ARRIVAL = datetime.date(2026, 4, 6)
D = datetime.date(2026, 5, 20)  # a milestone's due date in most tests
day = datetime.timedelta(days=1)
MONITORING = (K.MONITORING_DUE, K.MONITORING_OVERDUE)


@pytest.fixture
def prog(time_machine, group, coordinator, member, case_worker, program_manager):
    """Our group's sponsorship (arrived ARRIVAL, no generated plan) and its people.

    The weekly digest and HanVoice's monitoring contacts are off here (they would add rows to
    every test); their tests turn them on.
    """
    ReminderRule.objects.filter(kind__in=[K.WEEKLY_DIGEST, *MONITORING]).update(enabled=False)
    time_machine.move_to(local(ARRIVAL - 30 * day), tick=False)
    s = SponsorshipFactory(
        group=group, arrival_date=ARRIVAL, matched_on=ARRIVAL - 40 * day, plan=False
    )
    s.family.case_worker = case_worker
    s.family.save(update_fields=["case_worker"])
    return s


def at(time_machine, moment: datetime.date | datetime.datetime) -> None:
    if isinstance(moment, datetime.datetime):
        time_machine.move_to(moment, tick=False)
    else:
        time_machine.move_to(local(moment), tick=False)


# --- milestones ----------------------------------------------------------------------------


def test_it_tells_the_coordinator_seven_days_before_a_milestone_once(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    at(time_machine, D - 8 * day)
    assert sweep(django_capture_on_commit_callbacks).created == 0
    at(time_machine, D - 7 * day)
    result = sweep(django_capture_on_commit_callbacks)

    assert result.created == 1
    assert rows() == [(K.MILESTONE_DUE, f"milestone:{m.pk}", D - 7 * day, "cora@example.org")]
    assert sent_to() == ["cora@example.org"]
    assert prog.family.case_code in mail.outbox[0].subject
    assert "Bank account opened" in mail.outbox[0].subject
    reminder = Reminder.objects.get()
    assert reminder.sent_at and reminder.emailed and reminder.attempts == 1

    # The same day again, and the next days: nothing new.
    for moment in (local(D - 7 * day, 23, 59), local(D - 6 * day), local(D)):
        at(time_machine, moment)
        assert sweep(django_capture_on_commit_callbacks).created == 0
    assert len(mail.outbox) == 1


def test_it_nags_about_an_overdue_milestone_weekly_at_most_four_times(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    for offset in range(1, 40):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)

    nags = [D + n * day for n in (1, 8, 15, 22)]
    expected = sorted(
        (K.MILESTONE_OVERDUE, f"milestone:{m.pk}", when, email)
        for when in nags
        for email in ("alice@hanvoice.test", "cora@example.org")
    )
    assert rows(kind=K.MILESTONE_OVERDUE) == expected
    assert len(mail.outbox) == 8
    assert "bob@example.org" not in sent_to()  # plain members are not nagged


def test_it_stops_nagging_once_the_milestone_is_done(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    at(time_machine, D + 1 * day)
    sweep(django_capture_on_commit_callbacks)
    m.completed_on = D + 2 * day
    m.save()
    for offset in range(2, 30):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)
    assert Reminder.objects.filter(kind=K.MILESTONE_OVERDUE).count() == 2  # the first nag only


def test_it_catches_up_after_days_without_a_sweep_once_not_per_missed_day(
    prog, time_machine, django_capture_on_commit_callbacks
):
    soon = milestone(prog, D, title="Permanent housing")
    late = milestone(prog, D - 20 * day, title="Social Insurance Number applied for")
    # The worker was down from D-7 to D-3 (a long weekend and more): first sweep on D-2.
    at(time_machine, D - 2 * day)
    sweep(django_capture_on_commit_callbacks)

    assert rows(milestone=soon) == [
        (K.MILESTONE_DUE, f"milestone:{soon.pk}", D - 7 * day, "cora@example.org")
    ]
    # The late one was due D-20: nags fired D-19, D-12 and D-5; only the newest is sent.
    assert rows(milestone=late) == [
        (K.MILESTONE_OVERDUE, f"milestone:{late.pk}", D - 5 * day, "alice@hanvoice.test"),
        (K.MILESTONE_OVERDUE, f"milestone:{late.pk}", D - 5 * day, "cora@example.org"),
    ]
    assert len(mail.outbox) == 3
    at(time_machine, D - 1 * day)
    sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 3


def test_it_skips_fire_dates_too_old_to_be_useful(
    prog, time_machine, django_capture_on_commit_callbacks
):
    milestone(prog, D)  # its last nag fired D+22
    milestone(prog, D + 60 * day)  # "due soon" would be stale: it is overdue by now
    at(time_machine, D + 22 * day + reminders.CATCH_UP_DAYS * day + day)
    sweep(django_capture_on_commit_callbacks)
    assert rows() == []
    assert mail.outbox == []


def test_it_skips_a_due_soon_reminder_for_a_milestone_already_overdue(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    at(time_machine, D + 3 * day)  # no sweep since before D-7
    sweep(django_capture_on_commit_callbacks)
    assert {r[0] for r in rows(milestone=m)} == {K.MILESTONE_OVERDUE}


def test_it_does_not_send_a_reminder_whose_milestone_was_done_after_it_was_queued(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    at(time_machine, D - 7 * day)
    with django_capture_on_commit_callbacks(execute=False):  # queued, not delivered yet
        reminders.reminder_sweep()
    m.completed_on = D - 7 * day
    m.save()
    reminder = Reminder.objects.get()
    assert reminders.reminder_deliver(reminder_id=reminder.pk) == "cancelled"
    reminder.refresh_from_db()
    assert reminder.cancelled_at and reminder.cancel_reason == "Milestone done."
    assert reminder.sent_at is None
    assert mail.outbox == []


def test_it_cancels_reminders_of_a_sponsorship_that_ended(
    prog, time_machine, django_capture_on_commit_callbacks
):
    milestone(prog, D)
    at(time_machine, D - 7 * day)
    with django_capture_on_commit_callbacks(execute=False):
        reminders.reminder_sweep()
    Sponsorship.objects.filter(pk=prog.pk).update(
        outcome=Sponsorship.Outcome.SELF_SUFFICIENT, ended_on=D - 7 * day
    )
    assert reminders.reminder_reconcile(include_fresh=True) == {"cancelled": 1}
    assert Reminder.objects.get().cancel_reason == "Sponsorship ended."
    assert mail.outbox == []
    at(time_machine, D + 1 * day)
    sweep(django_capture_on_commit_callbacks)
    assert Reminder.objects.count() == 1  # ended sponsorships are not swept


@pytest.mark.parametrize(
    "resolution",
    [Sponsorship.BreakdownResolution.GOVERNMENT, Sponsorship.BreakdownResolution.OTHER],
)
def test_after_a_breakdown_without_a_transfer_staff_are_told_of_the_continuity_items_once(
    prog, time_machine, django_capture_on_commit_callbacks, case_worker, resolution
):
    plan_item = milestone(prog, D + 10 * day)  # the group's: it does not outlive the group
    at(time_machine, D)
    services.sponsorship_record_breakdown(
        sponsorship=prog,
        ircc_notified_on=D,
        resolution=resolution,
        reason="The group dissolved.",
        recorded_by=case_worker,
    )
    items = {m.due_on: m for m in prog.milestones.filter(continuity=True)}
    assert sorted(items) == [D, D + 7 * day, D + 14 * day, D + 30 * day]
    done = items[D + 14 * day]
    for offset in range(0, 60):
        at(time_machine, D + offset * day)
        if offset == 20:
            done.completed_on = D + 20 * day
            done.save()
        sweep(django_capture_on_commit_callbacks)
        sweep(django_capture_on_commit_callbacks)  # a second beat the same day: nothing new

    def nags(m, until=None):
        fire = [(K.MILESTONE_DUE, m.due_on - 7 * day)]
        fire += [(K.MILESTONE_OVERDUE, m.due_on + n * day) for n in (1, 8, 15, 22)]
        return [
            (kind, f"milestone:{m.pk}", on, "alice@hanvoice.test")
            for kind, on in fire
            if until is None or on < until
        ]

    expected = sorted(
        row for m in items.values() for row in nags(m, D + 20 * day if m == done else None)
    )
    assert rows(sent_at__isnull=False) == expected
    assert not Reminder.objects.filter(milestone=plan_item).exists()
    assert sent_to() == ["alice@hanvoice.test"] * len(expected)  # once each, staff only
    assert not Reminder.objects.filter(group__isnull=False).exists()
    message = mail.outbox[0]
    assert "support-continuity item" in message.body and "/admin/sponsorship/milestone/" in (
        message.body
    )
    assert "portal" not in message.body.lower()


def test_after_a_breakdown_program_managers_stand_in_for_a_missing_case_worker(
    prog, time_machine, django_capture_on_commit_callbacks, case_worker
):
    at(time_machine, D)
    services.sponsorship_record_breakdown(
        sponsorship=prog,
        ircc_notified_on=D,
        resolution=Sponsorship.BreakdownResolution.GOVERNMENT,
        reason="The group dissolved.",
        recorded_by=case_worker,
    )
    prog.family.case_worker = None
    prog.family.save(update_fields=["case_worker"])
    sweep(django_capture_on_commit_callbacks)
    assert {r[3] for r in rows()} == {"pm@hanvoice.test"}


def test_after_a_transfer_the_new_group_is_told_of_the_continuity_items_as_of_any_item(
    prog, time_machine, django_capture_on_commit_callbacks, case_worker
):
    new_group = SponsorGroupFactory(name="Second Circle")
    MembershipFactory(
        group=new_group, user__email="nina@example.org", role=Membership.Role.COORDINATOR
    )
    at(time_machine, D)
    carries_on = services.sponsorship_record_breakdown(
        sponsorship=prog,
        ircc_notified_on=D,
        resolution=Sponsorship.BreakdownResolution.TRANSFER,
        new_group=new_group,
        reason="The family moved.",
        recorded_by=case_worker,
    )
    sweep(django_capture_on_commit_callbacks)
    first = carries_on.milestones.get(continuity=True, due_on=D + 7 * day)
    assert rows(milestone=first) == [
        (K.MILESTONE_DUE, f"milestone:{first.pk}", D, "nina@example.org")
    ]
    assert not Reminder.objects.filter(sponsorship=prog).exists()


def test_it_does_not_tell_someone_who_left_the_group(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator
):
    milestone(prog, D)
    at(time_machine, D - 7 * day)
    with django_capture_on_commit_callbacks(execute=False):
        reminders.reminder_sweep()
    Membership.objects.filter(user=coordinator).delete()
    reminders.reminder_reconcile(include_fresh=True)
    assert Reminder.objects.get().cancelled_at is not None
    assert mail.outbox == []


def test_it_tells_the_whole_group_when_it_has_no_coordinator(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator, member
):
    Membership.objects.filter(user=coordinator).update(role=Membership.Role.TREASURER)
    milestone(prog, D)
    at(time_machine, D - 7 * day)
    sweep(django_capture_on_commit_callbacks)
    assert sent_to() == ["bob@example.org", "cora@example.org"]


# --- reviews, support period, extensions -----------------------------------------------------


def test_it_announces_a_review_fourteen_days_ahead_and_flags_it_unheld_after_seven(
    prog, time_machine, django_capture_on_commit_callbacks
):
    r = review(prog, D)
    for offset in range(-20, 20):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)
    assert rows() == [
        (K.REVIEW_DUE, f"review:{r.pk}", D - 14 * day, "alice@hanvoice.test"),
        (K.REVIEW_DUE, f"review:{r.pk}", D - 14 * day, "cora@example.org"),
        (K.REVIEW_OVERDUE, f"review:{r.pk}", D + 7 * day, "alice@hanvoice.test"),
        (K.REVIEW_OVERDUE, f"review:{r.pk}", D + 7 * day, "pm@hanvoice.test"),
    ]


def test_it_does_not_flag_a_review_that_was_held(
    prog, time_machine, django_capture_on_commit_callbacks, case_worker
):
    r = review(prog, D)
    r.held_on, r.outcome, r.reviewer = D, "on_track", case_worker
    r.save()
    for offset in range(-20, 20):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)
    assert rows(kind=K.REVIEW_OVERDUE) == []


def test_it_warns_90_and_30_days_before_support_ends_and_on_month_13(
    prog, time_machine, django_capture_on_commit_callbacks
):
    month_13 = datetime.date(2027, 4, 6)
    assert prog.month_13_on == month_13
    for offset in range(-100, 5):
        at(time_machine, month_13 + offset * day)
        sweep(django_capture_on_commit_callbacks)
    key = f"period:{prog.pk}:2027-04-06"
    people = ("alice@hanvoice.test", "cora@example.org")
    assert rows(sponsorship=prog) == sorted(
        [(K.PERIOD_ENDING, key, month_13 - n * day, p) for n in (90, 30) for p in people]
        + [(K.MONTH_13, key, month_13, p) for p in people]
    )
    ending = next(m for m in mail.outbox if "ends in 30 days" in m.subject)
    assert "transition plan" in ending.body.lower()
    assert "extension" in ending.body.lower()


def test_it_moves_period_reminders_when_an_extension_is_approved(
    prog, time_machine, django_capture_on_commit_callbacks, program_manager, coordinator
):
    month_13 = datetime.date(2027, 4, 6)
    at(time_machine, month_13 - 30 * day)
    with django_capture_on_commit_callbacks(execute=False):
        reminders.reminder_sweep()  # queued for the old end, not yet delivered
    Extension.objects.create(
        sponsorship=prog,
        months=6,
        reason="Language classes",
        requested_by=coordinator,
        status=Extension.Status.APPROVED,
        decided_by=program_manager,
        decided_at=timezone.now(),
    )
    reminders.reminder_reconcile(include_fresh=True)
    assert set(Reminder.objects.values_list("cancel_reason", flat=True)) == {
        "Support period changed (extension approved)."
    }
    assert mail.outbox == []
    new_13 = datetime.date(2027, 10, 6)
    at(time_machine, new_13 - 90 * day)
    sweep(django_capture_on_commit_callbacks)
    assert rows(subject_key=f"period:{prog.pk}:2027-10-06", kind=K.PERIOD_ENDING) != []
    assert len(mail.outbox) == 2


def test_it_reminds_program_managers_of_an_extension_awaiting_approval_after_three_days(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator
):
    at(time_machine, D)
    ext = Extension.objects.create(
        sponsorship=prog, months=3, reason="Health", requested_by=coordinator, requested_on=D
    )
    for offset in range(0, 10):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)
    assert rows(kind=K.EXTENSION_PENDING) == [
        (K.EXTENSION_PENDING, f"extension:{ext.pk}", D + 3 * day, "pm@hanvoice.test")
    ]
    assert "3 months awaiting approval" in mail.outbox[0].subject


# --- urgent concerns -----------------------------------------------------------------------


def _urgent_checkin(sponsorship, user) -> CheckIn:
    return CheckIn.objects.create(
        sponsorship=sponsorship,
        happened_on=timezone.localdate(),
        who="Cora",
        wellbeing=CheckIn.Wellbeing.STRUGGLING,
        concern_level=CheckIn.Concern.URGENT,
        concern="Zyxwvut Quellbright fears for her safety",
        summary="Visited the flat on Xanadu-Grove Street",
        logged_by=user,
    )


def test_it_tells_the_case_worker_about_an_urgent_concern_at_once(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator
):
    at(time_machine, D)
    with django_capture_on_commit_callbacks(execute=True):
        checkin = _urgent_checkin(prog, coordinator)
        reminders.notify_urgent_concern(checkin=checkin)
        assert Reminder.objects.get().sent_at is None  # in the inbox before commit
    assert rows() == [(K.URGENT_CONCERN, f"checkin:{checkin.pk}", D, "alice@hanvoice.test")]
    message = mail.outbox[0]
    assert "URGENT" in message.subject and prog.family.case_code in message.subject
    for secret in ("Zyxwvut", "Quellbright", "Xanadu"):
        assert secret not in message.subject + message.body + message.alternatives[0][0]
    # The link opens the check-in itself (by its public id), not a list to search.
    link = f"/admin/sponsorship/checkin/{checkin.public_id}/change/"
    assert link in message.body


def test_the_urgent_concern_link_opens_the_check_in_for_its_case_worker(
    prog, client, coordinator, case_worker
):
    checkin = _urgent_checkin(prog, coordinator)
    client.force_login(case_worker)
    page = client.get(f"/admin/sponsorship/checkin/{checkin.public_id}/change/")
    assert page.status_code == 200
    assert "Zyxwvut Quellbright fears for her safety" in page.content.decode()
    assert client.get(f"/admin/sponsorship/checkin/{checkin.pk}x/change/").status_code == 302


def test_the_check_in_page_finds_its_family_whatever_the_numbering(
    prog, client, case_worker, program_manager, coordinator
):
    """Row numbers of check-ins and families agree only by chance (in a fresh test database):
    a check-in numbered unlike any family opens, lists and logs against its own family."""
    checkin = _urgent_checkin(prog, coordinator)
    CheckIn.objects.filter(pk=checkin.pk).update(id=prog.family.pk + 1000)
    checkin = CheckIn.objects.get(public_id=checkin.public_id)
    assert not Family.objects.filter(pk=checkin.pk).exists()
    other = SponsorshipFactory(plan=False)  # not assigned to our case worker
    theirs = _urgent_checkin(other, coordinator)

    client.force_login(case_worker)
    for key in (checkin.public_id, checkin.pk):
        page = client.get(f"/admin/sponsorship/checkin/{key}/change/")
        assert page.status_code == 200 and "Zyxwvut" in page.content.decode()
    glass = client.get(f"/admin/sponsorship/checkin/{theirs.public_id}/change/")
    assert glass.status_code == 302 and "/admin/families/family/open/" in glass["Location"]
    listing = client.get("/admin/sponsorship/checkin/").content.decode()
    assert prog.family.case_code in listing and other.family.case_code not in listing
    logged = CaseFileAccess.objects.filter(user=case_worker).values_list("family", "action")
    assert set(logged) == {(prog.family.pk, "view"), (prog.family.pk, "list")}

    client.force_login(program_manager)
    assert client.get(f"/admin/sponsorship/checkin/{theirs.pk}/change/").status_code == 200


def test_it_tells_program_managers_of_an_urgent_concern_when_no_case_worker_is_assigned(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator
):
    prog.family.case_worker = None
    prog.family.save(update_fields=["case_worker"])
    at(time_machine, D)
    with django_capture_on_commit_callbacks(execute=True):
        reminders.notify_urgent_concern(checkin=_urgent_checkin(prog, coordinator))
    assert sent_to() == ["pm@hanvoice.test"]


def test_it_ignores_a_check_in_without_an_urgent_concern(prog, coordinator):
    checkin = CheckIn.objects.create(
        sponsorship=prog,
        happened_on=timezone.localdate(),
        who="Cora",
        wellbeing=CheckIn.Wellbeing.WELL,
        logged_by=coordinator,
    )
    assert reminders.notify_urgent_concern(checkin=checkin) == []
    assert not Reminder.objects.exists()


# --- weekly digest -------------------------------------------------------------------------


def test_it_sends_staff_a_weekly_digest_by_group_once_a_week(
    prog, digest_on, time_machine, django_capture_on_commit_callbacks, other_group
):
    other_cw = StaffFactory(email="olga@hanvoice.test", roles=[CASE_WORKER])
    theirs = SponsorshipFactory(
        group=other_group, arrival_date=ARRIVAL, matched_on=ARRIVAL - 40 * day, plan=False
    )
    theirs.family.case_worker = other_cw
    theirs.family.save(update_fields=["case_worker"])
    monday = datetime.date(2026, 6, 1)
    milestone(prog, monday - 3 * day, title="Permanent housing")  # overdue
    review(prog, monday + 2 * day)  # due this week
    milestone(theirs, monday + 1 * day, title="Language assessment")
    milestone(prog, monday + 30 * day, title="Employment plan")  # not this week

    for offset in range(0, 7):
        at(time_machine, monday + offset * day)
        sweep(django_capture_on_commit_callbacks)

    digests = [m for m in mail.outbox if m.subject.startswith("Weekly reminders")]
    by_person = {m.to[0]: m for m in digests}
    assert sorted(by_person) == ["alice@hanvoice.test", "olga@hanvoice.test", "pm@hanvoice.test"]
    assert rows(kind=K.WEEKLY_DIGEST)[0][1:3] == ("digest:2026-W23", monday)
    pm = by_person["pm@hanvoice.test"].body
    assert "Maple Circle" in pm and "Harbour Friends" in pm
    assert prog.family.case_code in pm and theirs.family.case_code in pm
    assert "Permanent housing" in pm and "overdue since" in pm
    assert "Month 3 review" in pm and "Employment plan" not in pm
    alice = by_person["alice@hanvoice.test"].body
    assert prog.family.case_code in alice and theirs.family.case_code not in alice
    # Tuesday's sweep of the same week sends nothing new.
    assert len(digests) == 3


def test_it_does_not_send_an_empty_digest(
    prog, digest_on, time_machine, django_capture_on_commit_callbacks
):
    at(time_machine, datetime.date(2026, 6, 1))
    sweep(django_capture_on_commit_callbacks)
    assert set(Reminder.objects.values_list("cancel_reason", flat=True)) == {
        "Nothing to report this week."
    }
    assert mail.outbox == []


# --- preferences, failures, claims ---------------------------------------------------------


def test_it_keeps_a_reminder_in_the_inbox_when_e_mail_is_off_for_that_kind(
    prog, time_machine, django_capture_on_commit_callbacks, coordinator
):
    NotificationPreference.objects.create(
        user=coordinator, kind=K.MILESTONE_DUE, email_enabled=False
    )
    milestone(prog, D)
    at(time_machine, D - 7 * day)
    sweep(django_capture_on_commit_callbacks)
    reminder = Reminder.objects.get(recipient=coordinator)
    assert reminder.sent_at is not None and reminder.emailed is False
    assert mail.outbox == []
    # Another kind still e-mails.
    at(time_machine, D + 1 * day)
    sweep(django_capture_on_commit_callbacks)
    assert "cora@example.org" in sent_to()


class _Broken(Exception):
    pass


@pytest.fixture
def digest_on():
    ReminderRule.objects.filter(kind=K.WEEKLY_DIGEST).update(enabled=True)


@pytest.fixture
def failing_mail(settings):
    settings.EMAIL_BACKEND = "tests.sponsorship.test_reminders.FailingBackend"


class FailingBackend:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise _Broken("550 mailbox unavailable")


def test_it_records_failures_retries_with_back_off_and_gives_up_after_five_attempts(
    prog, time_machine, django_capture_on_commit_callbacks, failing_mail, caplog
):
    milestone(prog, D)
    start = local(D - 7 * day)
    at(time_machine, start)
    sweep(django_capture_on_commit_callbacks)
    reminder = Reminder.objects.get()
    assert reminder.attempts == 1 and reminder.sent_at is None
    assert reminder.last_error == "_Broken: 550 mailbox unavailable"
    assert reminder.next_attempt_at == start + datetime.timedelta(minutes=5)

    now = start
    for attempt, wait in ((2, 5), (3, 10), (4, 20), (5, 40)):
        at(time_machine, now + datetime.timedelta(minutes=wait - 1))
        assert reminders.reminder_reconcile() == {}  # back-off not over yet
        now = now + datetime.timedelta(minutes=wait)
        at(time_machine, now)
        reminders.reminder_reconcile()
        reminder.refresh_from_db()
        assert reminder.attempts == attempt
    assert reminder.failed_at is not None and reminder.next_attempt_at is None
    at(time_machine, now + datetime.timedelta(days=1))
    assert reminders.reminder_reconcile() == {}
    assert prog.family.case_code not in caplog.text
    assert "giving up" in caplog.text


def test_it_resends_a_reminder_stuck_after_a_worker_died_mid_delivery_exactly_once(
    prog, time_machine, django_capture_on_commit_callbacks
):
    milestone(prog, D)
    start = local(D - 7 * day)
    at(time_machine, start)
    with django_capture_on_commit_callbacks(execute=False):
        reminders.reminder_sweep()
    reminder = Reminder.objects.get()
    # A worker claimed the row and was killed before sending.
    assert reminders.delivery._claim(reminder.pk, timezone.now())
    # The task is redelivered (acks_late) at once: the claim is still held: skip.
    assert reminders.reminder_deliver(reminder_id=reminder.pk) == "skipped"
    at(time_machine, start + datetime.timedelta(minutes=14))
    assert reminders.reminder_reconcile() == {}
    at(time_machine, start + datetime.timedelta(minutes=16))
    assert reminders.reminder_reconcile() == {"sent": 1}
    assert reminders.reminder_reconcile() == {}
    assert reminders.reminder_deliver(reminder_id=reminder.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_it_leaves_rows_for_the_reconciler_when_the_broker_is_down(
    prog, time_machine, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setitem(tasks.deliver_reminder.app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.deliver_reminder, "delay", broker_down)
    milestone(prog, D)
    start = local(D - 7 * day)
    at(time_machine, start)
    with caplog.at_level(logging.WARNING):
        sweep(django_capture_on_commit_callbacks)
    assert "Broker unavailable (OperationalError): 1 reminder(s) left" in caplog.text
    assert Reminder.objects.get().claimed_at is None and mail.outbox == []

    at(time_machine, start + datetime.timedelta(minutes=10))
    assert reminders.reminder_reconcile() == {"sent": 1}
    at(time_machine, start + datetime.timedelta(minutes=20))
    assert reminders.reminder_reconcile() == {}
    assert len(mail.outbox) == 1


def test_it_resends_on_request_and_re_checks_before_sending(
    prog, time_machine, django_capture_on_commit_callbacks
):
    m = milestone(prog, D)
    at(time_machine, D - 7 * day)
    sweep(django_capture_on_commit_callbacks)
    reminder = Reminder.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reminders.reminder_resend(reminder=reminder)
    assert len(mail.outbox) == 2
    m.completed_on = D - 6 * day
    m.save()
    with django_capture_on_commit_callbacks(execute=True):
        reminders.reminder_resend(reminder=reminder)
    reminder.refresh_from_db()
    assert reminder.cancelled_at and len(mail.outbox) == 2


# --- time zones ----------------------------------------------------------------------------


def test_it_uses_the_program_time_zone_at_23_59_and_00_01(
    prog, time_machine, django_capture_on_commit_callbacks
):
    milestone(prog, D)
    fire = D - 7 * day
    # 23:59 in Toronto is already the next day in UTC: it must not fire a day early.
    at(time_machine, local(fire - day, 23, 59))
    assert timezone.now().date() == fire  # UTC date
    assert sweep(django_capture_on_commit_callbacks).created == 0
    at(time_machine, local(fire, 0, 1))
    assert sweep(django_capture_on_commit_callbacks).created == 1
    at(time_machine, local(fire, 23, 59))
    assert sweep(django_capture_on_commit_callbacks).created == 0
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "change",
    [datetime.date(2026, 3, 8), datetime.date(2026, 11, 1)],
    ids=["spring-forward", "fall-back"],
)
def test_it_neither_skips_nor_repeats_a_day_across_a_daylight_saving_change(
    prog, time_machine, django_capture_on_commit_callbacks, change
):
    Sponsorship.objects.filter(pk=prog.pk).update(matched_on=datetime.date(2026, 1, 1))
    dues = [change + n * day for n in range(6, 10)]  # fire dates change-1 .. change+2
    made = [milestone(prog, due) for due in dues]
    for n in range(-3, 4):
        for hour, minute in ((0, 1), (1, 30), (2, 30), (6, 0), (23, 59)):
            at(time_machine, local(change + n * day, hour, minute))
            sweep(django_capture_on_commit_callbacks)
    fired = sorted(Reminder.objects.values_list("milestone_id", "due_on"))
    assert fired == [(m.pk, m.due_on - 7 * day) for m in made]
    assert len(mail.outbox) == len(made)


# --- privacy -------------------------------------------------------------------------------


def test_it_never_puts_a_family_members_name_narrative_or_location_in_an_e_mail(
    prog, digest_on, time_machine, django_capture_on_commit_callbacks, coordinator, program_manager
):

    family = prog.family
    family.narrative = "Crossed at Quasarville; Zebulonia Primrose-Kwan's story"
    family.current_location = "Bangkok Quasarville"
    family.address = "12 Marmalade-Lane"
    family.save()
    HouseholdMemberFactory(family=family, given_name="Zebulonia", family_name="Primrose-Kwan")
    # One reminder of every kind about this family.
    milestone(prog, D, title="Bank account opened")
    milestone(prog, D - 10 * day, title="Social Insurance Number applied for")
    review(prog, D + 14 * day)
    review(prog, D - 7 * day, label="Month 1 review")
    Extension.objects.create(
        sponsorship=prog, months=2, reason="Zebulonia", requested_by=coordinator,
        requested_on=D - 3 * day,
    )  # fmt: skip
    # HanVoice's contacts: month 9's window closed on May 9, a month-10 window opens May 10.
    ReminderRule.objects.filter(kind__in=MONITORING).update(enabled=True)
    MonitoringSchedule.objects.create(label="Month 10", from_month=10, to_month=10)
    at(time_machine, datetime.date(2026, 5, 11))  # a Monday: the digest too
    Sponsorship.objects.filter(pk=prog.pk).update(
        arrival_date=datetime.date(2025, 8, 10), matched_on=datetime.date(2025, 7, 1)
    )
    sweep(django_capture_on_commit_callbacks)
    at(time_machine, D)
    sweep(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        reminders.notify_urgent_concern(checkin=_urgent_checkin(prog, coordinator))

    kinds = set(Reminder.objects.exclude(sent_at=None).values_list("kind", flat=True))
    assert kinds >= {
        K.MILESTONE_DUE, K.MILESTONE_OVERDUE, K.REVIEW_DUE, K.REVIEW_OVERDUE,
        K.PERIOD_ENDING, K.EXTENSION_PENDING, K.URGENT_CONCERN, K.WEEKLY_DIGEST, *MONITORING,
    }  # fmt: skip
    assert len(mail.outbox) >= 10
    for message in mail.outbox:
        text = message.subject + message.body + message.alternatives[0][0]
        for secret in ("Zebulonia", "Primrose", "Quasarville", "Marmalade", "Zyxwvut", "Xanadu"):
            assert secret not in text, (message.subject, secret)
        assert family.case_code in text


# --- rules as data -------------------------------------------------------------------------


def test_it_follows_rules_edited_by_staff(prog, time_machine, django_capture_on_commit_callbacks):
    ReminderRule.objects.filter(kind=K.MILESTONE_DUE).update(
        days=[-10, -2], max_count=2, recipients=["members"]
    )
    ReminderRule.objects.filter(kind=K.MILESTONE_OVERDUE).update(enabled=False)
    m = milestone(prog, D)
    for offset in range(-12, 10):
        at(time_machine, D + offset * day)
        sweep(django_capture_on_commit_callbacks)
    assert sorted(set(rows(milestone=m))) == sorted(
        (K.MILESTONE_DUE, f"milestone:{m.pk}", D - n * day, email)
        for n in (10, 2)
        for email in ("bob@example.org", "cora@example.org")
    )


def test_it_computes_rule_offsets_with_repeats():
    rule = ReminderRule(days=[1], repeat_every_days=7, max_count=4)
    assert reminders.rule_offsets(rule) == [1, 8, 15, 22]
    assert reminders.rule_offsets(ReminderRule(days=[-30, -90], max_count=2)) == [-90, -30]
    assert reminders.rule_offsets(ReminderRule(days=[], max_count=1)) == []


def test_it_ignores_inactive_users_and_tells_program_managers_when_the_case_worker_left(
    prog, time_machine, django_capture_on_commit_callbacks, case_worker
):
    case_worker.is_active = False
    case_worker.save()
    MembershipFactory(group=prog.group, role=Membership.Role.COORDINATOR, user__is_active=False)
    milestone(prog, D)
    at(time_machine, D + 1 * day)
    sweep(django_capture_on_commit_callbacks)
    assert sent_to() == ["cora@example.org", "pm@hanvoice.test"]


# --- HanVoice's own monitoring contacts ----------------------------------------------------


@pytest.fixture
def monitoring_on(prog):
    ReminderRule.objects.filter(kind__in=MONITORING).update(enabled=True)
    return MonitoringSchedule.objects.get(from_month=1, to_month=1)


def _contact(sponsorship, on: datetime.date, case_worker) -> MonitoringContact:
    return MonitoringContact.objects.create(
        sponsorship=sponsorship, happened_on=on, kind=MonitoringContact.Kind.PHONE,
        recorded_by=case_worker,
    )  # fmt: skip


def test_it_tells_the_case_worker_when_a_contact_window_opens_and_when_it_was_missed_once_each(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks
):
    key = f"monitoring:{prog.pk}:{monitoring_on.pk}:{ARRIVAL.isoformat()}"
    closed = datetime.date(2026, 5, 5)  # month 1: April 6 to May 5
    for today in (ARRIVAL - day, ARRIVAL, ARRIVAL, ARRIVAL + 3 * day, closed):
        at(time_machine, today)
        sweep(django_capture_on_commit_callbacks)
    assert rows() == [(K.MONITORING_DUE, key, ARRIVAL, "alice@hanvoice.test")]
    (message,) = mail.outbox
    code = prog.family.case_code
    assert message.subject == f"[{code}] HanVoice contact with the family due from 6 Apr 2026"
    assert "closes on Tuesday 5 May 2026" in message.body
    for today in (closed + day, closed + day, closed + 5 * day):
        at(time_machine, today)
        sweep(django_capture_on_commit_callbacks)
    assert rows(kind=K.MONITORING_OVERDUE) == [
        (K.MONITORING_OVERDUE, key, closed + day, "alice@hanvoice.test")
    ]
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == (
        f"[{code}] HanVoice contact with the family missed (window closed 5 May 2026)"
    )
    for message in mail.outbox:  # case code only: no family name, no group name in subjects
        assert prog.group.name not in message.subject
        for member in prog.family.members.all():
            assert member.given_name not in message.subject + message.body


def test_it_catches_up_a_window_that_opened_during_days_without_a_sweep(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks
):
    at(time_machine, ARRIVAL + 4 * day)
    sweep(django_capture_on_commit_callbacks)
    assert [(kind, due) for kind, _key, due, _to in rows()] == [(K.MONITORING_DUE, ARRIVAL)]


def test_a_contact_in_the_window_means_no_overdue_reminder(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks, case_worker
):
    at(time_machine, ARRIVAL)
    sweep(django_capture_on_commit_callbacks)
    _contact(prog, ARRIVAL + 10 * day, case_worker)
    at(time_machine, datetime.date(2026, 5, 6))
    sweep(django_capture_on_commit_callbacks)
    assert [kind for kind, *_rest in rows()] == [K.MONITORING_DUE]


def test_a_due_reminder_is_cancelled_when_the_contact_was_recorded_before_it_was_sent(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks, case_worker
):
    at(time_machine, ARRIVAL)
    reminders.reminder_sweep()  # written, not yet delivered
    _contact(prog, ARRIVAL, case_worker)
    reminder = Reminder.objects.get(kind=K.MONITORING_DUE)
    assert reminders.reminder_deliver(reminder_id=reminder.pk) == "cancelled"
    assert mail.outbox == []


def test_it_tells_program_managers_of_a_missed_contact_when_no_case_worker_is_assigned(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks
):
    prog.family.case_worker = None
    prog.family.save(update_fields=["case_worker"])
    at(time_machine, datetime.date(2026, 5, 6))
    sweep(django_capture_on_commit_callbacks)
    assert [(kind, to) for kind, _key, _due, to in rows()] == [
        (K.MONITORING_OVERDUE, "pm@hanvoice.test")
    ]
    assert sent_to() == ["pm@hanvoice.test"]


def test_a_changed_arrival_date_cancels_the_old_windows_reminder(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks
):
    at(time_machine, ARRIVAL)
    reminders.reminder_sweep()
    Sponsorship.objects.filter(pk=prog.pk).update(arrival_date=ARRIVAL + 2 * day)
    reminder = Reminder.objects.get(kind=K.MONITORING_DUE)
    assert reminders.reminder_deliver(reminder_id=reminder.pk) == "cancelled"


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", "Contact de HanVoice avec la famille à faire"), ("ko", "HanVoice의 가족 연락")],
)
def test_the_monitoring_reminder_is_written_in_the_case_workers_language(
    prog, monitoring_on, time_machine, django_capture_on_commit_callbacks, case_worker,
    language, words,
):  # fmt: skip
    reminders.language_preference_set(user=case_worker, language=language)
    at(time_machine, ARRIVAL)
    sweep(django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert words in message.subject and prog.family.case_code in message.subject
    assert "HanVoice's scheduled contact" not in message.body
