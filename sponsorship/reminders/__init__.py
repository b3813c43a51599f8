"""Reminders: the sweep that writes what is due as rows, and the delivery that claims and
sends each row exactly once through the project's one outbox (core/outbox.py,
docs/architecture.md).

How a reminder travels
----------------------
1. `reminder_sweep()` (beat, daily; `manage.py send_reminders` by hand) computes what is due
   **as of today** in the program's time zone and writes one `Reminder` row per
   (kind, object, fire date, recipient) with `bulk_create(ignore_conflicts=True)` under the
   unique constraint `sponsorship_reminder_once`: writing an existing row is a no-op, so two
   beats, a retried task or a second sweep on the same day change nothing.
   `Reminder.due_on` is the date the reminder *fires* (e.g. a milestone's due date − 7),
   not the milestone's due date: that makes each nag its own row. Kinds swept: milestones,
   reviews, the support period, extensions, HanVoice's monitoring contact windows
   (docs/evidence.md) and the weekly digest; urgent concerns are written at once.
2. After the sweep's transaction commits, each new row is queued (`deliver_reminder`).
   If the broker is down the rows simply stay pending: the row is the promise, not the task.
3. `reminder_deliver()` claims a row with a conditional UPDATE, re-checks that the reminder
   still matters (milestone done, review held, sponsorship ended... → cancelled, no
   e-mail), e-mails it unless the recipient turned e-mail off for that kind, and marks it
   sent. A failure is recorded on the row and retried with exponential back-off; after
   `core.outbox.MAX_ATTEMPTS` the row is marked failed and shows in the admin.
4. `reminder_reconcile()` (every 10 minutes) delivers rows never claimed (broker outage),
   claimed longer than `core.outbox.CLAIM_TIMEOUT` ago without being sent (a worker killed
   mid-send), and failed attempts whose back-off has passed.

Catch-up: for each object the sweep picks the *latest* fire date on or before today, as long
as it is at most `CATCH_UP_DAYS` old. A sweep after a long weekend therefore sends every
reminder that became due meanwhile once, and an object with several past fire dates (weekly
nags) gets only the newest one rather than a burst of stale ones.

Exactly once, and its one honest exception: a worker that dies after the mail server accepted
a message but before `sent_at` is written leaves a claimed, unsent row, and the reconciler
sends it again after `core.outbox.CLAIM_TIMEOUT`. That window is the few milliseconds between SMTP's
"250 OK" and one UPDATE; every system that sends e-mail has this at-least-once edge, since
SMTP and the database cannot commit together.

Privacy: e-mails and log lines carry case codes and group names only, never a family
member's name, date of birth, narrative or location (docs/domain.md, "Privacy").
"""

from sponsorship.reminders.content import ADMIN_LINKS, email_context
from sponsorship.reminders.delivery import (
    reminder_deliver,
    reminder_mark_read,
    reminder_reconcile,
    reminder_resend,
)
from sponsorship.reminders.digest import digest_context
from sponsorship.reminders.preferences import (
    email_enabled,
    email_language,
    email_preferences,
    kinds_for,
    language_preference_remember,
    language_preference_set,
    notification_preferences_set,
)
from sponsorship.reminders.rules import (
    BEFORE_KINDS,
    CATCH_UP_DAYS,
    GROUP_ROLES,
    INSERT_BATCH,
    Kind,
    R,
    digest_key,
    latest_fire_date,
    period_key,
    rule_offsets,
    why_not_relevant,
)
from sponsorship.reminders.sweep import (
    SWEPT_KINDS,
    SweepResult,
    enqueue_delivery,
    insert_batch_size,
    reminder_sweep,
)
from sponsorship.reminders.urgent import notify_urgent_concern

__all__ = [
    "ADMIN_LINKS",
    "BEFORE_KINDS",
    "CATCH_UP_DAYS",
    "GROUP_ROLES",
    "INSERT_BATCH",
    "Kind",
    "R",
    "SWEPT_KINDS",
    "SweepResult",
    "digest_context",
    "digest_key",
    "email_context",
    "email_enabled",
    "email_language",
    "email_preferences",
    "enqueue_delivery",
    "insert_batch_size",
    "kinds_for",
    "language_preference_remember",
    "language_preference_set",
    "latest_fire_date",
    "notification_preferences_set",
    "notify_urgent_concern",
    "period_key",
    "reminder_deliver",
    "reminder_mark_read",
    "reminder_reconcile",
    "reminder_resend",
    "reminder_sweep",
    "rule_offsets",
    "why_not_relevant",
]
