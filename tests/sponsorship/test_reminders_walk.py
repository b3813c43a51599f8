"""Walk one sponsorship through its year, day by day, with the clock frozen at 06:00:
exactly the expected reminders, each sent once. HanVoice's monitoring contacts follow the
default schedule (month 1, months 4-6, month 9); the case worker calls only in months 4-6."""

from __future__ import annotations

import datetime
from collections import Counter

from django.core import mail
from django.utils import timezone

from core.dates import add_months
from sponsorship.models import Extension, MonitoringContact, MonitoringSchedule, Reminder
from tests.factories import SponsorshipFactory
from tests.sponsorship.reminder_helpers import local, sweep

K = Reminder.Kind
day = datetime.timedelta(days=1)
ARRIVAL = datetime.date(2026, 2, 2)
LATE_MILESTONE = "Permanent housing"
LATE_REVIEW = "Month 6 review"


def test_it_sends_exactly_the_expected_reminders_over_a_whole_sponsorship(
    time_machine,
    django_capture_on_commit_callbacks,
    group,
    coordinator,
    member,
    case_worker,
    program_manager,
):
    time_machine.move_to(local(ARRIVAL - 40 * day), tick=False)
    s = SponsorshipFactory(group=group, arrival_date=ARRIVAL, matched_on=ARRIVAL - 40 * day)
    s.family.case_worker = case_worker
    s.family.save(update_fields=["case_worker"])
    milestones = list(s.milestones.all())
    reviews = list(s.reviews.all())
    assert len(milestones) >= 12 and len(reviews) == 4
    month_13 = add_months(ARRIVAL, 12)
    late = next(m for m in milestones if m.title == LATE_MILESTONE)
    late_review = next(r for r in reviews if r.label == LATE_REVIEW)
    extension_day = ARRIVAL + 300 * day
    contact_day = add_months(ARRIVAL, 4) + 13 * day  # in the months 4-6 window

    first, last = ARRIVAL - 25 * day, month_13 + 10 * day
    today = first
    while today <= last:
        time_machine.move_to(local(today), tick=False)
        if today == extension_day:
            extension = Extension.objects.create(
                sponsorship=s, months=3, reason="Classes", requested_by=coordinator
            )
        if today == extension_day + 6 * day:
            Extension.objects.filter(pk=extension.pk).update(
                status=Extension.Status.REFUSED,
                decided_by=program_manager,
                decided_at=timezone.now(),
            )
        sweep(django_capture_on_commit_callbacks)
        if today == contact_day:  # after the morning's sweep
            MonitoringContact.objects.create(
                sponsorship=s, happened_on=today, kind="phone", recorded_by=case_worker
            )
        # The group ticks milestones off on their due date, after the morning sweep;
        # one is 30 days late. Reviews are held on the day; one is 10 days late.
        for m in milestones:
            if (m.due_on == today and m is not late) or (
                m is late and today == m.due_on + 30 * day
            ):
                m.completed_on = today
                m.save()
        for r in reviews:
            if (r.scheduled_for == today and r is not late_review) or (
                r is late_review and today == r.scheduled_for + 10 * day
            ):
                r.held_on, r.outcome, r.reviewer = today, "on_track", case_worker
                r.save()
        today += day

    cora, alice, paula = "cora@example.org", "alice@hanvoice.test", "pm@hanvoice.test"
    expected = set()
    for m in milestones:
        expected.add((K.MILESTONE_DUE, f"milestone:{m.pk}", m.due_on - 7 * day, cora))
    for nag in (1, 8, 15, 22):
        for who in (cora, alice):
            expected.add(
                (K.MILESTONE_OVERDUE, f"milestone:{late.pk}", late.due_on + nag * day, who)
            )
    for r in reviews:
        for who in (cora, alice):
            expected.add((K.REVIEW_DUE, f"review:{r.pk}", r.scheduled_for - 14 * day, who))
    for who in (alice, paula):
        expected.add(
            (K.REVIEW_OVERDUE, f"review:{late_review.pk}", late_review.scheduled_for + 7 * day, who)
        )
    period = f"period:{s.pk}:{month_13.isoformat()}"
    for who in (cora, alice):
        expected.add((K.PERIOD_ENDING, period, month_13 - 90 * day, who))
        expected.add((K.PERIOD_ENDING, period, month_13 - 30 * day, who))
        expected.add((K.MONTH_13, period, month_13, who))
    expected.add((K.EXTENSION_PENDING, f"extension:{extension.pk}", extension_day + 3 * day, paula))
    for schedule in MonitoringSchedule.objects.all():
        opens = add_months(ARRIVAL, schedule.from_month - 1)
        key = f"monitoring:{s.pk}:{schedule.pk}:{opens.isoformat()}"
        expected.add((K.MONITORING_DUE, key, opens, alice))
        if schedule.from_month != 4:  # months 4-6 were met by the call
            expected.add((K.MONITORING_OVERDUE, key, add_months(ARRIVAL, schedule.to_month), alice))

    actual = Reminder.objects.exclude(kind=K.WEEKLY_DIGEST).values_list(
        "kind", "subject_key", "due_on", "recipient__email"
    )
    assert Counter(actual) == Counter(expected)  # each exactly once

    # One digest per staff member per ISO week of the walk (the first sweep, on a Thursday,
    # catches up that week's Monday digest).
    walk = [first + n * day for n in range((last - first).days + 1)]
    mondays = {d - d.weekday() * day for d in walk}
    digests = Reminder.objects.filter(kind=K.WEEKLY_DIGEST)
    assert Counter(digests.values_list("due_on", "recipient__email")) == Counter(
        (monday, who) for monday in mondays for who in (alice, paula)
    )

    # Every reminder was delivered (none pending), and each e-mail went out once.
    assert not Reminder.objects.filter(sent_at=None, cancelled_at=None).exists()
    assert not Reminder.objects.exclude(kind=K.WEEKLY_DIGEST).filter(cancelled_at__isnull=False)
    sent = Counter((message.to[0], message.subject) for message in mail.outbox)
    assert max(sent.values()) == 1
    assert len(mail.outbox) == len(expected) + digests.filter(emailed=True).count()
    assert "bob@example.org" not in {message.to[0] for message in mail.outbox}
