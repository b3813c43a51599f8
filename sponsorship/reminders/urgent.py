"""Urgent concerns from a check-in reach the family's case worker at once."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from sponsorship import portal_cache
from sponsorship.models import (
    CheckIn,
    Reminder,
    ReminderRule,
    Sponsorship,
)
from sponsorship.reminders.rules import Kind, R
from sponsorship.reminders.sweep import Candidate, Recipients, enqueue_delivery

logger = logging.getLogger(__name__)


def notify_urgent_concern(*, checkin: CheckIn) -> list[int]:
    """Tell the family's case worker at once about an urgent concern from a check-in.

    Called by the portal inside the check-in's transaction; the row is written now (it shows
    in the case worker's inbox at once) and delivery is queued on commit. Without an active
    case worker every program manager is told: an urgent concern must reach someone, so the
    rule's `enabled` switch does not apply to it (the rule admin refuses to turn it off).
    """
    if checkin.concern_level != CheckIn.Concern.URGENT:
        return []
    sponsorship = Sponsorship.objects.select_related("family").get(pk=checkin.sponsorship_id)
    rule = ReminderRule.objects.filter(kind=Kind.URGENT_CONCERN).first()
    wanted = (rule.recipients if rule else None) or [R.CASE_WORKER]
    candidate = Candidate(
        kind=Kind.URGENT_CONCERN,
        subject_key=f"checkin:{checkin.pk}",
        fire_on=timezone.localdate(),
        group_id=sponsorship.group_id,
        sponsorship_id=sponsorship.pk,
        case_worker_id=sponsorship.family.case_worker_id,
    )
    users = Recipients().resolve(candidate, wanted)
    Reminder.objects.bulk_create(
        [
            Reminder(
                kind=candidate.kind,
                subject_key=candidate.subject_key,
                due_on=candidate.fire_on,
                recipient_id=user_id,
                group_id=sponsorship.group_id,
                sponsorship_id=sponsorship.pk,
                checkin=checkin,
            )
            for user_id in sorted(users)
        ],
        ignore_conflicts=True,
    )
    portal_cache.users_changed(users)  # bulk_create sends no signal
    ids = list(
        Reminder.objects.filter(
            kind=candidate.kind, subject_key=candidate.subject_key, claimed_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if not ids:
        logger.error("Urgent concern on check-in %s: nobody to tell", checkin.pk)
    transaction.on_commit(lambda: enqueue_delivery(ids))
    return ids
