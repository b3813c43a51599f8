"""Claiming and sending each Reminder row exactly once; reconcile, resend, mark read."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import DatabaseError, transaction
from django.utils import timezone

from core import emails, outbox
from sponsorship import portal_cache
from sponsorship.models import (
    Reminder,
)
from sponsorship.reminders.content import email_context
from sponsorship.reminders.digest import digest_context
from sponsorship.reminders.preferences import email_enabled, email_language
from sponsorship.reminders.rules import Kind, why_not_relevant
from sponsorship.reminders.sweep import enqueue_delivery


def _claim(reminder_id: int, now: datetime.datetime) -> bool:
    return outbox.claim(Reminder, reminder_id, now=now)


def _load(reminder_id: int) -> Reminder:
    return Reminder.objects.select_related(
        "recipient",
        "group",
        "sponsorship__family",
        "sponsorship__group",
        "milestone",
        "review",
        "extension",
        "checkin",
    ).get(pk=reminder_id)


def reminder_deliver(*, reminder_id: int) -> str:
    """Claim the row, re-check it, e-mail it, mark it sent. Returns what happened:
    "sent", "inbox" (e-mail turned off), "cancelled", "retry", "failed" or "skipped"
    (someone else holds the claim, or it was already sent)."""
    now = timezone.now()
    if not _claim(reminder_id, now):
        return "skipped"
    try:
        reminder = _load(reminder_id)
        today = timezone.localdate()
        reason = why_not_relevant(reminder, today)
    except DatabaseError:
        # Nothing was sent: give the claim back so the task's retry can take it at once.
        outbox.release(Reminder, reminder_id, claimed_at=now)
        raise
    if reason:
        Reminder.objects.filter(pk=reminder_id).update(
            cancelled_at=timezone.now(), cancel_reason=reason, claimed_at=None
        )
        portal_cache.users_changed([reminder.recipient_id])  # out of the unread count
        return "cancelled"
    send_email = bool(reminder.recipient.email) and email_enabled(
        reminder.recipient_id, reminder.kind
    )
    if send_email:
        try:
            if reminder.kind == Kind.WEEKLY_DIGEST:
                context = digest_context(reminder.recipient, today)
                if not context["groups"]:
                    Reminder.objects.filter(pk=reminder_id).update(
                        cancelled_at=timezone.now(), cancel_reason="Nothing to report this week."
                    )
                    portal_cache.users_changed([reminder.recipient_id])
                    return "cancelled"
                emails.send(
                    "digest",
                    [reminder.recipient.email],
                    context,
                    language=email_language(reminder.recipient_id),
                    message_key=reminder.message_key,
                )
            else:
                emails.send(
                    "reminder",
                    [reminder.recipient.email],
                    email_context(reminder, today),
                    language=email_language(reminder.recipient_id),
                    message_key=reminder.message_key,
                )
        except Exception as exc:  # SMTP, DNS, template: recorded on the row, retried
            return outbox.record_failure(Reminder, reminder_id, attempts=reminder.attempts, exc=exc)
    # Handed to the mail server: from here to this UPDATE is the at-least-once window.
    outbox.mark_sent(Reminder, reminder_id, emailed=send_email)
    return "sent" if send_email else "inbox"


def reminder_reconcile(
    *, limit: int = outbox.RECONCILE_LIMIT, include_fresh: bool = False
) -> dict[str, int]:
    """Deliver what the queue lost (core.outbox.reconcile): rows never claimed (broker down),
    claimed but unsent for longer than CLAIM_TIMEOUT (worker killed), and failed attempts
    due for a retry.

    Rows younger than QUEUE_GRACE are left to the task just queued for them, unless
    `include_fresh` (`send_reminders --deliver`, when no worker runs).
    """
    grace = datetime.timedelta(0) if include_fresh else outbox.QUEUE_GRACE
    outcomes = outbox.reconcile(
        Reminder, lambda pk: reminder_deliver(reminder_id=pk), grace=grace, limit=limit
    )
    return {str(outcome): count for outcome, count in outcomes.items()}


@transaction.atomic
def reminder_resend(*, reminder: Reminder) -> Reminder:
    """Staff asked to send it again: reset its delivery state and queue it (admin action).

    Relevance is checked again at send time, so resending a reminder about a milestone
    that is done still sends nothing.
    """
    Reminder.objects.filter(pk=reminder.pk).update(
        claimed_at=None,
        sent_at=None,
        emailed=False,
        attempts=0,
        last_error="",
        next_attempt_at=None,
        failed_at=None,
        cancelled_at=None,
        cancel_reason="",
    )
    transaction.on_commit(lambda: enqueue_delivery([reminder.pk]))
    portal_cache.users_changed([reminder.recipient_id])  # a cancelled one is back
    reminder.refresh_from_db()
    return reminder


def reminder_mark_read(*, user: User, reminder_ids: Iterable[int]) -> int:
    """Mark the user's own reminders read (the admin inbox; the portal has its own)."""
    portal_cache.users_changed([user.pk])
    return Reminder.objects.filter(
        recipient=user, pk__in=list(reminder_ids), read_at__isnull=True
    ).update(read_at=timezone.now())
