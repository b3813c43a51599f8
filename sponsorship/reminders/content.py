"""What a reminder e-mail says, in the recipient's language, with case codes only."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from sponsorship.budget import budget_for
from sponsorship.models import Milestone, Reminder
from sponsorship.period import MAX_SUPPORT_MONTHS
from sponsorship.reminders.rules import Kind, monitoring_window_of


def site_link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


ADMIN_LINKS = ("admin:sponsorship_sponsorship_changelist", "admin:sponsorship_reminder_changelist")


def staff_link(case_code: str | None) -> str:
    """The admin page where staff act on it; searched by case code, never an integer id."""
    for name in (
        "admin:sponsorship_sponsorship_changelist",
        "admin:sponsorship_reminder_changelist",
    ):
        try:
            path = reverse(name)
        except NoReverseMatch:
            continue
        return site_link(f"{path}?q={case_code}" if case_code else path)
    return site_link("/admin/")


def safe_milestone_title(milestone: Milestone) -> str:
    # Catalogue titles are generic; a title a group typed could name someone: not by e-mail.
    if milestone.template_id or not milestone.added_by_group:
        return milestone.title
    return ""


def email_context(reminder: Reminder, today: datetime.date) -> dict:
    """What the e-mail may say: case code, group name, dates, what to do. Nothing identifying."""
    user = reminder.recipient
    staff = has_role(user, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = reminder.sponsorship
    case_code = sponsorship.family.case_code if sponsorship else None
    ctx: dict = {
        "kind": reminder.kind,
        "kind_label": reminder.get_kind_display(),
        "recipient_first_name": user.first_name,
        "is_staff": staff,
        "case_code": case_code,
        "group_name": sponsorship.group.name if sponsorship else "",
        "fire_on": reminder.due_on,
        "link": staff_link(case_code) if staff else site_link(reverse("portal:dashboard")),
        "preferences_link": site_link(reverse("notification-preferences")),
    }
    if (milestone := reminder.milestone) is not None:
        ctx.update(
            milestone_title=safe_milestone_title(milestone),
            due_on=milestone.due_on,
            days_left=(milestone.due_on - today).days,
            days_overdue=(today - milestone.due_on).days,
        )
        if sponsorship and not sponsorship.is_active:
            # A support-continuity item after a breakdown: staff follow it, the group is gone.
            path = reverse("admin:sponsorship_milestone_changelist")
            ctx.update(after_end=True, link=site_link(f"{path}?q={case_code}"))
    if (review := reminder.review) is not None:
        ctx.update(
            review_label=review.label,
            due_on=review.scheduled_for,
            days_left=(review.scheduled_for - today).days,
            days_overdue=(today - review.scheduled_for).days,
        )
    month_13_on = sponsorship.month_13_on if sponsorship else None
    if reminder.kind in (Kind.PERIOD_ENDING, Kind.MONTH_13) and sponsorship and month_13_on:
        ctx.update(
            month_13_on=month_13_on,
            support_ends_on=sponsorship.support_ends_on,
            committed_months=sponsorship.committed_months,
            days_left=(month_13_on - today).days,
            can_extend=sponsorship.committed_months < MAX_SUPPORT_MONTHS,
            owed=budget_for(sponsorship, today).owed_this_month,
        )
    if (ext := reminder.extension) is not None:
        ctx.update(extension_months=ext.months, requested_on=ext.requested_on)
    if reminder.kind in (Kind.MONITORING_DUE, Kind.MONITORING_OVERDUE):
        window = monitoring_window_of(reminder)
        if window is not None:
            ctx.update(
                window_label=window.schedule.label,
                due_on=window.opens_on,
                window_closes_on=window.closes_on,
                days_overdue=(today - window.closes_on).days,
            )
    if (checkin := reminder.checkin) is not None:
        ctx.update(checkin_on=checkin.happened_on)
        if staff:  # the check-in itself, not a list to search in
            path = reverse("admin:sponsorship_checkin_change", args=[checkin.public_id])
            ctx.update(link=site_link(path))
    return ctx
