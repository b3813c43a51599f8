"""What is due and when: rule offsets, fire dates, keys, and whether a reminder still matters."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

from sponsorship.access import may_receive
from sponsorship.models import (
    Extension,
    Milestone,
    MonitoringSchedule,
    Reminder,
    ReminderRule,
)
from sponsorship.selectors import MonitoringWindow, monitoring_windows

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
R = ReminderRule.Recipient

# How far back a missed sweep is caught up; older fire dates are no longer useful news
# (the weekly digest still lists everything overdue).
CATCH_UP_DAYS = 14
# Rows per INSERT; SQLite caps this lower by itself (999 parameters per statement).
INSERT_BATCH = 1000

# "Before" kinds announce something coming; they stop mattering once it is due.
BEFORE_KINDS = {Kind.MILESTONE_DUE, Kind.REVIEW_DUE, Kind.PERIOD_ENDING}
GROUP_ROLES = {R.COORDINATOR, R.TREASURER, R.MEMBERS}


def staff_recipients(wanted: Sequence[str]) -> list[str]:
    """Who hears of an item that outlives its sponsorship (a support-continuity item after a
    breakdown without a transfer): the rule's staff, and the group's part falls to the
    case worker (program managers stand in when none is assigned)."""
    staff = [who for who in wanted if who not in GROUP_ROLES]
    if len(staff) < len(wanted) and R.CASE_WORKER not in staff:
        staff.append(R.CASE_WORKER)
    return staff


def rule_offsets(rule: ReminderRule) -> list[int]:
    """Days relative to the due date on which `rule` fires, in order, at most `max_count`.

    `days` lists the fixed offsets; `repeat_every_days` continues after the last of them
    (milestone overdue: [1] then every 7 days, at most 4 → 1, 8, 15, 22).
    """
    offsets = sorted({int(day) for day in rule.days or []})
    if not offsets:
        return []
    count = max(1, rule.max_count or 1)
    if rule.repeat_every_days:
        while len(offsets) < count:
            offsets.append(offsets[-1] + rule.repeat_every_days)
    return offsets[:count]


def latest_fire_date(
    base: datetime.date, offsets: Sequence[int], today: datetime.date
) -> datetime.date | None:
    """The newest fire date on or before `today`, unless it is older than the catch-up window."""
    past = [base + datetime.timedelta(days=o) for o in offsets]
    past = [day for day in past if day <= today]
    if not past:
        return None
    latest = max(past)
    if latest < today - datetime.timedelta(days=CATCH_UP_DAYS):
        return None
    return latest


def base_range(offsets: Sequence[int], today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Due dates whose latest fire date can fall in (today − CATCH_UP_DAYS, today]."""
    low = today - datetime.timedelta(days=CATCH_UP_DAYS + max(offsets))
    high = today - datetime.timedelta(days=min(offsets))
    return low, high


def period_key(sponsorship_id: int, month_13_on: datetime.date) -> str:
    """The support period is identified by its end: an approved extension makes a new one."""
    return f"period:{sponsorship_id}:{month_13_on.isoformat()}"


def monitoring_key(sponsorship_id: int, schedule_id: int, opens_on: datetime.date) -> str:
    """A scheduled monitoring contact window of one sponsorship, identified by its opening
    day: a changed arrival date makes a new window (and the old reminder is cancelled)."""
    return f"monitoring:{sponsorship_id}:{schedule_id}:{opens_on.isoformat()}"


def monitoring_window_of(reminder: Reminder) -> MonitoringWindow | None:
    """The window a monitoring reminder is about, as it stands now (None when its schedule
    was removed or switched off, or the arrival date moved the window)."""
    sponsorship = reminder.sponsorship
    try:
        _, _sponsorship, schedule_id, opens = reminder.subject_key.split(":")
    except ValueError:
        return None
    schedule = MonitoringSchedule.objects.filter(pk=int(schedule_id), is_active=True).first()
    if sponsorship is None or schedule is None:
        return None
    windows = monitoring_windows(sponsorship, [schedule])
    if not windows or windows[0].opens_on.isoformat() != opens:
        return None
    return windows[0]


def digest_key(monday: datetime.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"digest:{year}-W{week:02d}"


def _outlives_sponsorship(reminder: Reminder) -> bool:
    """A milestone still followed after its sponsorship ended, told to staff only."""
    return (
        reminder.kind in (Kind.MILESTONE_DUE, Kind.MILESTONE_OVERDUE)
        and reminder.group_id is None
        and Milestone.objects.reminded().filter(pk=reminder.milestone_id).exists()
    )


def why_not_relevant(reminder: Reminder, today: datetime.date) -> str:
    """Why the reminder no longer matters (empty when it does). Checked at send time."""
    if not may_receive(reminder):
        return "Recipient no longer in the group or on staff."
    sponsorship = reminder.sponsorship
    kind = reminder.kind
    ended = sponsorship is not None and not sponsorship.is_active
    if ended and not _outlives_sponsorship(reminder):
        return "Sponsorship ended."
    if kind in (Kind.MILESTONE_DUE, Kind.MILESTONE_OVERDUE):
        milestone = reminder.milestone
        if milestone is None:
            return "Milestone removed."
        if milestone.completed_on:
            return "Milestone done."
        if milestone.waived_on:
            return "Milestone waived."
        if kind == Kind.MILESTONE_DUE and today > milestone.due_on:
            return "Milestone now overdue: the overdue reminder takes over."
    elif kind in (Kind.REVIEW_DUE, Kind.REVIEW_OVERDUE):
        review = reminder.review
        if review is None:
            return "Review removed."
        if review.held_on:
            return "Review held."
        if kind == Kind.REVIEW_DUE and today > review.scheduled_for:
            return "Review date passed: the overdue reminder takes over."
    elif kind in (Kind.PERIOD_ENDING, Kind.MONTH_13):
        current = sponsorship.month_13_on if sponsorship else None
        if (
            sponsorship is None
            or current is None
            or reminder.subject_key != period_key(sponsorship.pk, current)
        ):
            return "Support period changed (extension approved)."
        if kind == Kind.PERIOD_ENDING and today >= current:
            return "Support period already ended: the month-13 reminder takes over."
    elif kind == Kind.EXTENSION_PENDING:
        if reminder.extension is None:
            return "Extension removed."
        if reminder.extension.status != Extension.Status.REQUESTED:
            return "Extension decided."
    elif kind in (Kind.MONITORING_DUE, Kind.MONITORING_OVERDUE):
        window = monitoring_window_of(reminder)
        if window is None:
            return "Monitoring window changed (schedule or arrival date)."
        if window.contacted_on is not None:
            return "Contact with the family recorded."
        if kind == Kind.MONITORING_DUE and today > window.closes_on:
            return "Window closed: the overdue reminder takes over."
    elif kind == Kind.URGENT_CONCERN:
        if reminder.checkin is None:
            return "Check-in removed."
        if reminder.checkin.acknowledged_at:
            return "Concern already acknowledged."
    return ""
