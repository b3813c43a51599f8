"""Claiming and sending each Reminder row exactly once; reconcile, resend, mark read."""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Iterable

from django.db import DatabaseError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import emails
from sponsorship.models import (
    Reminder,
)
from sponsorship.reminders.content import email_context
from sponsorship.reminders.digest import digest_context
from sponsorship.reminders.preferences import email_enabled, email_language
from sponsorship.reminders.rules import (
    BACKOFF_BASE,
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    QUEUE_GRACE,
    RECONCILE_LIMIT,
    Kind,
    why_not_relevant,
)
from sponsorship.reminders.sweep import enqueue_delivery

logger = logging.getLogger(__name__)


def _claim(reminder_id: int, now: datetime.datetime) -> bool:
    return (
        Reminder.objects.filter(
            pk=reminder_id,
            sent_at__isnull=True,
            cancelled_at__isnull=True,
            failed_at__isnull=True,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .update(claimed_at=now, attempts=F("attempts") + 1)
        == 1
    )


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


def _record_failure(reminder_id: int, attempts: int, exc: Exception) -> str:
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:300]
    if attempts >= MAX_ATTEMPTS:
        changes = {"failed_at": now, "next_attempt_at": None}
        outcome = "failed"
    else:
        changes = {"next_attempt_at": now + BACKOFF_BASE * 2 ** (attempts - 1)}
        outcome = "retry"
    Reminder.objects.filter(pk=reminder_id).update(claimed_at=None, last_error=error, **changes)
    logger.warning(
        "Reminder %s: delivery attempt %d failed (%s); %s",
        reminder_id,
        attempts,
        type(exc).__name__,
        "giving up" if outcome == "failed" else "will retry",
    )
    return outcome


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
        Reminder.objects.filter(pk=reminder_id, claimed_at=now).update(
            claimed_at=None, attempts=F("attempts") - 1
        )
        raise
    if reason:
        Reminder.objects.filter(pk=reminder_id).update(
            cancelled_at=timezone.now(), cancel_reason=reason, claimed_at=None
        )
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
                    return "cancelled"
                emails.send(
                    "digest",
                    [reminder.recipient.email],
                    context,
                    language=email_language(reminder.recipient_id),
                    message_key=f"reminder-{reminder_id}",
                )
            else:
                emails.send(
                    "reminder",
                    [reminder.recipient.email],
                    email_context(reminder, today),
                    language=email_language(reminder.recipient_id),
                    message_key=f"reminder-{reminder_id}",
                )
        except Exception as exc:  # SMTP, DNS, template: recorded on the row, retried
            return _record_failure(reminder_id, reminder.attempts, exc)
    # Handed to the mail server: from here to this UPDATE is the at-least-once window.
    _mark_sent(reminder_id, emailed=send_email)
    return "sent" if send_email else "inbox"


def _mark_sent(reminder_id: int, *, emailed: bool) -> None:
    """Record the delivery, retrying a transient database error (a lock, a failover) for
    a few seconds: giving up here is what would let the reconciler send it twice."""
    for pause in (0.05, 0.2, 0.5, 1.0, 2.0, None):
        try:
            Reminder.objects.filter(pk=reminder_id).update(
                sent_at=timezone.now(), emailed=emailed, last_error="", next_attempt_at=None
            )
            return
        except OperationalError:
            if pause is None:
                raise
            logger.warning("Reminder %s sent; recording it failed, trying again", reminder_id)
            time.sleep(pause)


def reminder_reconcile(
    *, limit: int = RECONCILE_LIMIT, include_fresh: bool = False
) -> dict[str, int]:
    """Deliver what the queue lost: rows never claimed (broker down), claimed but unsent
    for longer than CLAIM_TIMEOUT (worker killed), and failed attempts due for a retry.

    Rows younger than QUEUE_GRACE are left to the task just queued for them, unless
    `include_fresh` (`send_reminders --deliver`, when no worker runs).
    """
    now = timezone.now()
    grace = datetime.timedelta(0) if include_fresh else QUEUE_GRACE
    due = (
        Reminder.objects.filter(
            sent_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True
        )
        .filter(
            Q(claimed_at__isnull=True, next_attempt_at__isnull=True, created_at__lte=now - grace)
            | Q(claimed_at__isnull=True, next_attempt_at__lte=now)
            | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: dict[str, int] = defaultdict(int)
    for pk in list(due):
        outcomes[reminder_deliver(reminder_id=pk)] += 1
    if outcomes:
        logger.info("Reminder reconcile: %s", dict(outcomes))
    return dict(outcomes)


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
    reminder.refresh_from_db()
    return reminder


def reminder_mark_read(*, user, reminder_ids: Iterable[int]) -> int:
    """Mark the user's own reminders read (the admin inbox; the portal has its own)."""
    return Reminder.objects.filter(
        recipient=user, pk__in=list(reminder_ids), read_at__isnull=True
    ).update(read_at=timezone.now())
