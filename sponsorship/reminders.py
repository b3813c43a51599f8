"""Reminders: the sweep that writes what is due as rows, and the delivery that claims and
sends each row exactly once (STYLE.md rule 13).

How a reminder travels
----------------------
1. `reminder_sweep()` (beat, daily; `manage.py send_reminders` by hand) computes what is due
   **as of today** in the program's time zone and writes one `Reminder` row per
   (kind, object, fire date, recipient) with `bulk_create(ignore_conflicts=True)` under the
   unique constraint `sponsorship_reminder_once`: writing an existing row is a no-op, so two
   beats, a retried task or a second sweep on the same day change nothing.
   `Reminder.due_on` is the date the reminder *fires* (e.g. a milestone's due date − 7),
   not the milestone's due date: that makes each nag its own row.
2. After the sweep's transaction commits, each new row is queued (`deliver_reminder`).
   If the broker is down the rows simply stay pending: the row is the promise, not the task.
3. `reminder_deliver()` claims a row with a conditional UPDATE, re-checks that the reminder
   still matters (milestone done, review held, sponsorship ended... → cancelled, no
   e-mail), e-mails it unless the recipient turned e-mail off for that kind, and marks it
   sent. A failure is recorded on the row and retried with exponential back-off; after
   `MAX_ATTEMPTS` the row is marked failed and shows in the admin.
4. `reminder_reconcile()` (every 10 minutes) delivers rows never claimed (broker outage),
   claimed longer than `CLAIM_TIMEOUT` ago without being sent (a worker killed mid-send),
   and failed attempts whose back-off has passed.

Catch-up: for each object the sweep picks the *latest* fire date on or before today, as long
as it is at most `CATCH_UP_DAYS` old. A sweep after a long weekend therefore sends every
reminder that became due meanwhile once, and an object with several past fire dates (weekly
nags) gets only the newest one rather than a burst of stale ones.

Exactly once, and its one honest exception: a worker that dies after the mail server accepted
a message but before `sent_at` is written leaves a claimed, unsent row, and the reconciler
sends it again after `CLAIM_TIMEOUT`. That window is the few milliseconds between SMTP's
"250 OK" and one UPDATE; every system that sends e-mail has this at-least-once edge, since
SMTP and the database cannot commit together.

Privacy: e-mails and log lines carry case codes and group names only, never a family
member's name, date of birth, narrative or location (DOMAIN.md).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, OperationalError, models, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core import emails
from core.dates import add_months
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from sponsorship.models import (
    BASE_SUPPORT_MONTHS,
    MAX_SUPPORT_MONTHS,
    CheckIn,
    Extension,
    LanguagePreference,
    Membership,
    Milestone,
    NotificationPreference,
    Reminder,
    ReminderRule,
    Review,
    Sponsorship,
)

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
R = ReminderRule.Recipient

# A claimed row not marked sent after this long is presumed lost (worker killed) and re-sent.
CLAIM_TIMEOUT = datetime.timedelta(minutes=15)
# Rows younger than this were just queued by the sweep: the reconciler leaves them alone.
QUEUE_GRACE = datetime.timedelta(minutes=2)
# A permanently failing address stops after this many attempts (then `failed_at`).
MAX_ATTEMPTS = 5
# Back-off after failed attempt n: BACKOFF_BASE * 2 ** (n - 1): 5, 10, 20, 40 minutes.
BACKOFF_BASE = datetime.timedelta(minutes=5)
# How far back a missed sweep is caught up; older fire dates are no longer useful news
# (the weekly digest still lists everything overdue).
CATCH_UP_DAYS = 14
# Rows per INSERT; SQLite caps this lower by itself (999 parameters per statement).
INSERT_BATCH = 1000
# At most this many rows per reconcile run, so one run stays well under ten minutes.
RECONCILE_LIMIT = 500

# "Before" kinds announce something coming; they stop mattering once it is due.
BEFORE_KINDS = {Kind.MILESTONE_DUE, Kind.REVIEW_DUE, Kind.PERIOD_ENDING}
GROUP_ROLES = {R.COORDINATOR, R.TREASURER, R.MEMBERS}


# --- rules ---------------------------------------------------------------------------------


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


def _base_range(
    offsets: Sequence[int], today: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """Due dates whose latest fire date can fall in (today − CATCH_UP_DAYS, today]."""
    low = today - datetime.timedelta(days=CATCH_UP_DAYS + max(offsets))
    high = today - datetime.timedelta(days=min(offsets))
    return low, high


def month_13_for(arrival: datetime.date, extension_months: int) -> datetime.date:
    return add_months(arrival, min(MAX_SUPPORT_MONTHS, BASE_SUPPORT_MONTHS + extension_months))


def period_key(sponsorship_id: int, month_13_on: datetime.date) -> str:
    """The support period is identified by its end: an approved extension makes a new one."""
    return f"period:{sponsorship_id}:{month_13_on.isoformat()}"


def digest_key(monday: datetime.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"digest:{year}-W{week:02d}"


# --- the sweep -----------------------------------------------------------------------------


@dataclass
class _Candidate:
    """Something due today, before its recipients are known."""

    kind: str
    subject_key: str
    fire_on: datetime.date
    group_id: int | None = None
    sponsorship_id: int | None = None
    case_worker_id: int | None = None
    milestone_id: int | None = None
    review_id: int | None = None
    extension_id: int | None = None


@dataclass
class SweepResult:
    created: int = 0
    queued: list[int] = field(default_factory=list)


def _dated_candidates(
    rules: dict,
    today: datetime.date,
    *,
    kinds: tuple[str, str],
    open_rows: models.QuerySet,
    date_field: str,
    subject: str,
) -> Iterable[_Candidate]:
    """Candidates for objects that fall due on a date (milestones, reviews): one query per
    kind, bounded to the dates the rule's offsets can fire on as of today."""
    for kind in kinds:
        offsets = rules.get(kind)
        if not offsets:
            continue
        low, high = _base_range(offsets, today)
        if kind in BEFORE_KINDS:
            low = max(low, today)
        rows = open_rows.filter(
            sponsorship__outcome=Sponsorship.Outcome.ACTIVE, **{f"{date_field}__range": (low, high)}
        ).values(
            "pk", date_field, "sponsorship_id", "sponsorship__group_id",
            "sponsorship__family__case_worker_id",
        )  # fmt: skip
        for row in rows:
            fire = latest_fire_date(row[date_field], offsets, today)
            if fire is None:
                continue
            yield _Candidate(
                kind=kind,
                subject_key=f"{subject}:{row['pk']}",
                fire_on=fire,
                group_id=row["sponsorship__group_id"],
                sponsorship_id=row["sponsorship_id"],
                case_worker_id=row["sponsorship__family__case_worker_id"],
                **{f"{subject}_id": row["pk"]},
            )


def _milestone_candidates(rules: dict, today: datetime.date) -> Iterable[_Candidate]:
    return _dated_candidates(
        rules, today, kinds=(Kind.MILESTONE_DUE, Kind.MILESTONE_OVERDUE),
        open_rows=Milestone.objects.open(), date_field="due_on", subject="milestone",
    )  # fmt: skip


def _review_candidates(rules: dict, today: datetime.date) -> Iterable[_Candidate]:
    return _dated_candidates(
        rules, today, kinds=(Kind.REVIEW_DUE, Kind.REVIEW_OVERDUE),
        open_rows=Review.objects.filter(held_on__isnull=True), date_field="scheduled_for",
        subject="review",
    )  # fmt: skip


def _period_candidates(rules: dict, today: datetime.date) -> Iterable[_Candidate]:
    kinds = [k for k in (Kind.PERIOD_ENDING, Kind.MONTH_13) if rules.get(k)]
    if not kinds:
        return
    # Month 13 is at least 12 months (≥ 365 days) after arrival: a cheap SQL pre-filter.
    lead = max(0, -min(min(rules[k]) for k in kinds))
    rows = (
        Sponsorship.objects.active()
        .filter(arrival_date__isnull=False)
        .filter(arrival_date__lte=today + datetime.timedelta(days=lead - 365))
        .with_period()
        .values(
            "pk", "arrival_date", "approved_extension_months", "group_id", "family__case_worker_id"
        )  # fmt: skip
    )
    for row in rows:
        month_13 = month_13_for(row["arrival_date"], int(row["approved_extension_months"] or 0))
        for kind in kinds:
            if kind in BEFORE_KINDS and today >= month_13:
                continue  # the period has ended: the month-13 reminder takes over
            fire = latest_fire_date(month_13, rules[kind], today)
            if fire is None:
                continue
            yield _Candidate(
                kind=kind,
                subject_key=period_key(row["pk"], month_13),
                fire_on=fire,
                group_id=row["group_id"],
                sponsorship_id=row["pk"],
                case_worker_id=row["family__case_worker_id"],
            )


def _extension_candidates(rules: dict, today: datetime.date) -> Iterable[_Candidate]:
    offsets = rules.get(Kind.EXTENSION_PENDING)
    if not offsets:
        return
    low, high = _base_range(offsets, today)
    rows = Extension.objects.filter(
        status=Extension.Status.REQUESTED,
        sponsorship__outcome=Sponsorship.Outcome.ACTIVE,
        requested_on__range=(low, high),
    ).values(
        "pk", "requested_on", "sponsorship_id", "sponsorship__group_id",
        "sponsorship__family__case_worker_id",
    )  # fmt: skip
    for row in rows:
        fire = latest_fire_date(row["requested_on"], offsets, today)
        if fire is None:
            continue
        yield _Candidate(
            kind=Kind.EXTENSION_PENDING,
            subject_key=f"extension:{row['pk']}",
            fire_on=fire,
            group_id=row["sponsorship__group_id"],
            sponsorship_id=row["sponsorship_id"],
            case_worker_id=row["sponsorship__family__case_worker_id"],
            extension_id=row["pk"],
        )


def _digest_candidates(rules: dict, today: datetime.date) -> Iterable[_Candidate]:
    offsets = rules.get(Kind.WEEKLY_DIGEST)
    if not offsets:
        return
    this_monday = today - datetime.timedelta(days=today.weekday())
    best: tuple[datetime.date, datetime.date] | None = None
    for monday in (this_monday - datetime.timedelta(days=7), this_monday):
        fire = latest_fire_date(monday, offsets, today)
        if fire is not None and (best is None or fire > best[0]):
            best = (fire, monday)
    if best:
        yield _Candidate(kind=Kind.WEEKLY_DIGEST, subject_key=digest_key(best[1]), fire_on=best[0])


class _Recipients:
    """Who receives what, resolved set-based: one query per recipient kind, lazily."""

    def __init__(self) -> None:
        self._members: dict[int, dict[str, list[int]]] | None = None
        self._role_users: dict[str, list[int]] = {}
        self._active_staff: set[int] | None = None

    def members(self, group_id: int) -> dict[str, list[int]]:
        if self._members is None:
            self._members = defaultdict(lambda: defaultdict(list))
            rows = Membership.objects.filter(
                group_id__in=Sponsorship.objects.active().values("group_id"),
                user__is_active=True,
            ).values_list("group_id", "role", "user_id")
            for gid, role, user_id in rows:
                self._members[gid][role].append(user_id)
        return self._members.get(group_id, {})

    def role(self, role: str) -> list[int]:
        if role not in self._role_users:
            self._role_users[role] = list(
                get_user_model()
                .objects.filter(is_active=True, is_staff=True, groups__name=role)
                .order_by("pk")
                .values_list("pk", flat=True)
                .distinct()
            )
        return self._role_users[role]

    def case_worker_active(self, user_id: int) -> bool:
        if self._active_staff is None:
            self._active_staff = set(
                get_user_model()
                .objects.filter(is_active=True, is_staff=True, families_assigned__isnull=False)
                .values_list("pk", flat=True)
                .distinct()
            )
        return user_id in self._active_staff

    def resolve(self, candidate: _Candidate, wanted: Sequence[str]) -> set[int]:
        users: set[int] = set()
        for who in wanted:
            if candidate.kind == Kind.WEEKLY_DIGEST:
                # The digest is for staff: "case worker" means every case worker.
                if who == R.CASE_WORKER:
                    users.update(self.role(CASE_WORKER))
                elif who == R.PROGRAM_MANAGERS:
                    users.update(self.role(PROGRAM_MANAGER))
                continue
            if who in GROUP_ROLES and candidate.group_id:
                by_role = self.members(candidate.group_id)
                if who == R.MEMBERS:
                    users.update(u for ids in by_role.values() for u in ids)
                elif by_role.get(who):
                    users.update(by_role[who])
                elif who == R.COORDINATOR:
                    # No coordinator: the whole group hears it rather than nobody.
                    users.update(u for ids in by_role.values() for u in ids)
            elif who == R.CASE_WORKER:
                if candidate.case_worker_id and self.case_worker_active(candidate.case_worker_id):
                    users.add(candidate.case_worker_id)
                else:
                    # No (active) case worker assigned: program managers stand in.
                    users.update(self.role(PROGRAM_MANAGER))
            elif who == R.PROGRAM_MANAGERS:
                users.update(self.role(PROGRAM_MANAGER))
        return users


SWEPT_KINDS = (
    _milestone_candidates,
    _review_candidates,
    _period_candidates,
    _extension_candidates,
    _digest_candidates,
)


@transaction.atomic
def reminder_sweep(*, today: datetime.date | None = None) -> SweepResult:
    """Write a row for every reminder due as of `today` (default: today in TIME_ZONE).

    Set-based: one query per reminder kind, one per recipient kind, then batched inserts;
    the number of queries does not depend on the number of sponsorships. Idempotent: rows
    that exist are left alone (unique constraint), so running it twice a day is harmless.
    New rows are queued for delivery once the transaction commits.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    rules = {
        rule.kind: (rule_offsets(rule), rule.recipients)
        for rule in ReminderRule.objects.filter(enabled=True)
    }
    offsets = {kind: pair[0] for kind, pair in rules.items() if pair[0]}
    recipients = _Recipients()
    rows: list[Reminder] = []
    for find in SWEPT_KINDS:
        for c in find(offsets, today):
            for user_id in sorted(recipients.resolve(c, rules[c.kind][1])):
                rows.append(
                    Reminder(
                        kind=c.kind,
                        subject_key=c.subject_key,
                        due_on=c.fire_on,
                        recipient_id=user_id,
                        group_id=c.group_id,
                        sponsorship_id=c.sponsorship_id,
                        milestone_id=c.milestone_id,
                        review_id=c.review_id,
                        extension_id=c.extension_id,
                        # The sweep's own timestamp: it tells this sweep's new rows apart
                        # from those another sweep (or yesterday's) already wrote.
                        created_at=now,
                    )
                )
    if rows:
        Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=INSERT_BATCH)
    new_ids = list(
        Reminder.objects.filter(created_at=now, claimed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if new_ids:
        transaction.on_commit(lambda: enqueue_delivery(new_ids))
    logger.info("Reminder sweep for %s: %d due, %d new", today, len(rows), len(new_ids))
    return SweepResult(created=len(new_ids), queued=new_ids)


def enqueue_delivery(ids: Sequence[int]) -> int:
    """Queue one delivery task per row; on a broker outage leave the rest to the reconciler."""
    from sponsorship.tasks import deliver_reminder

    for done, pk in enumerate(ids):
        try:
            deliver_reminder.delay(pk)
        except Exception as exc:  # kombu raises OperationalError, redis ConnectionError...
            if settings.CELERY_TASK_ALWAYS_EAGER or deliver_reminder.app.conf.task_always_eager:
                raise  # in-process delivery: a bug, not an outage
            logger.warning(
                "Broker unavailable (%s): %d reminder(s) left for the reconciler",
                type(exc).__name__,
                len(ids) - done,
            )
            return done
    return len(ids)


# --- urgent concerns -----------------------------------------------------------------------


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
    candidate = _Candidate(
        kind=Kind.URGENT_CONCERN,
        subject_key=f"checkin:{checkin.pk}",
        fire_on=timezone.localdate(),
        group_id=sponsorship.group_id,
        sponsorship_id=sponsorship.pk,
        case_worker_id=sponsorship.family.case_worker_id,
    )
    users = _Recipients().resolve(candidate, wanted)
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
    ids = list(
        Reminder.objects.filter(
            kind=candidate.kind, subject_key=candidate.subject_key, claimed_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if not ids:
        logger.error("Urgent concern on check-in %s: nobody to tell", checkin.pk)
    transaction.on_commit(lambda: enqueue_delivery(ids))
    return ids


# --- delivery ------------------------------------------------------------------------------


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


def _recipient_may_know(reminder: Reminder) -> bool:
    """Still entitled to hear about it: a member of the group, or case-management staff."""
    user = reminder.recipient
    if not user.is_active:
        return False
    if has_role(user, PROGRAM_MANAGER, CASE_WORKER):
        return True
    if reminder.kind == Kind.WEEKLY_DIGEST or reminder.group_id is None:
        return False
    return Membership.objects.filter(user=user, group_id=reminder.group_id).exists()


def why_not_relevant(reminder: Reminder, today: datetime.date) -> str:
    """Why the reminder no longer matters (empty when it does). Checked at send time."""
    if not _recipient_may_know(reminder):
        return "Recipient no longer in the group or on staff."
    sponsorship = reminder.sponsorship
    if sponsorship is not None and not sponsorship.is_active:
        return "Sponsorship ended."
    kind = reminder.kind
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
        if current is None or reminder.subject_key != period_key(sponsorship.pk, current):
            return "Support period changed (extension approved)."
        if kind == Kind.PERIOD_ENDING and today >= current:
            return "Support period already ended: the month-13 reminder takes over."
    elif kind == Kind.EXTENSION_PENDING:
        if reminder.extension is None:
            return "Extension removed."
        if reminder.extension.status != Extension.Status.REQUESTED:
            return "Extension decided."
    elif kind == Kind.URGENT_CONCERN:
        if reminder.checkin is None:
            return "Check-in removed."
        if reminder.checkin.acknowledged_at:
            return "Concern already acknowledged."
    return ""


def email_enabled(user_id: int, kind: str) -> bool:
    """E-mail is on unless the user turned it off for this kind (the inbox always shows it)."""
    pref = (
        NotificationPreference.objects.filter(user_id=user_id, kind=kind)
        .values_list("email_enabled", flat=True)
        .first()
    )
    return True if pref is None else pref


def _site_link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


ADMIN_LINKS = ("admin:sponsorship_sponsorship_changelist", "admin:sponsorship_reminder_changelist")


def _staff_link(case_code: str | None) -> str:
    """The admin page where staff act on it; searched by case code, never an integer id."""
    for name in (
        "admin:sponsorship_sponsorship_changelist",
        "admin:sponsorship_reminder_changelist",
    ):
        try:
            path = reverse(name)
        except NoReverseMatch:
            continue
        return _site_link(f"{path}?q={case_code}" if case_code else path)
    return _site_link("/admin/")


def _safe_milestone_title(milestone: Milestone) -> str:
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
        "link": _staff_link(case_code) if staff else _site_link(reverse("portal:dashboard")),
        "preferences_link": _site_link(reverse("notification-preferences")),
    }
    if reminder.milestone_id:
        milestone = reminder.milestone
        ctx.update(
            milestone_title=_safe_milestone_title(milestone),
            due_on=milestone.due_on,
            days_left=(milestone.due_on - today).days,
            days_overdue=(today - milestone.due_on).days,
        )
    if reminder.review_id:
        review = reminder.review
        ctx.update(
            review_label=review.label,
            due_on=review.scheduled_for,
            days_left=(review.scheduled_for - today).days,
            days_overdue=(today - review.scheduled_for).days,
        )
    if reminder.kind in (Kind.PERIOD_ENDING, Kind.MONTH_13) and sponsorship:
        ctx.update(
            month_13_on=sponsorship.month_13_on,
            support_ends_on=sponsorship.support_ends_on,
            committed_months=sponsorship.committed_months,
            days_left=(sponsorship.month_13_on - today).days,
            can_extend=sponsorship.committed_months < MAX_SUPPORT_MONTHS,
        )
    if reminder.extension_id:
        ext = reminder.extension
        ctx.update(extension_months=ext.months, requested_on=ext.requested_on)
    if reminder.checkin_id:
        ctx.update(checkin_on=reminder.checkin.happened_on)
    return ctx


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


# --- weekly digest -------------------------------------------------------------------------


def digest_context(user, today: datetime.date) -> dict:
    """Overdue and due-next-week items for the staff member, by group, case codes only.

    Program managers see every active sponsorship; a case worker sees the families
    assigned to them. A constant number of queries, whatever the program's size.
    """
    week_end = today + datetime.timedelta(days=7)
    scope = Q(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
    if not has_role(user, PROGRAM_MANAGER):
        scope &= Q(sponsorship__family__case_worker=user)
    related = ("sponsorship__group", "sponsorship__family")
    items: dict[tuple[str, str], list[dict]] = defaultdict(list)

    def add(obj, kind: str, day: datetime.date, state: str, **extra) -> None:
        s = obj.sponsorship
        items[(s.group.name, s.family.case_code)].append(
            {"kind": kind, "date": day, "state": state, "days": (today - day).days, **extra}
        )

    for m in Milestone.objects.open().filter(scope, due_on__lt=week_end).select_related(*related):
        state = "overdue" if m.due_on < today else "due"
        add(m, "milestone", m.due_on, state, title=_safe_milestone_title(m))
    reviews = Review.objects.filter(scope, held_on__isnull=True, scheduled_for__lt=week_end)
    for r in reviews.select_related(*related):
        state = "overdue" if r.scheduled_for < today else "due"
        add(r, "review", r.scheduled_for, state, title=r.label)
    pending = Extension.objects.filter(scope, status=Extension.Status.REQUESTED)
    for e in pending.select_related(*related):
        add(e, "extension", e.requested_on, "pending", months=e.months)

    groups: dict[str, list[dict]] = defaultdict(list)
    for (group_name, case_code), entries in sorted(items.items()):
        entries.sort(key=lambda entry: entry["date"])
        groups[group_name].append({"case_code": case_code, "items": entries})
    counts = defaultdict(int)
    for entries in items.values():
        for entry in entries:
            counts[entry["state"]] += 1
    return {
        "recipient_first_name": user.first_name,
        "today": today,
        "week_end": week_end,
        "groups": [{"name": name, "families": fams} for name, fams in groups.items()],
        "overdue_count": counts["overdue"],
        "due_count": counts["due"],
        "pending_count": counts["pending"],
        "link": _staff_link(None),
        "preferences_link": _site_link(reverse("notification-preferences")),
    }


# --- notification preferences --------------------------------------------------------------


def kinds_for(user) -> list[str]:
    """The reminder kinds a user can receive: all for case-management staff; for a group
    member, those whose rule sends to group roles."""
    if has_role(user, PROGRAM_MANAGER, CASE_WORKER):
        return list(Kind.values)
    group_kinds = {
        rule.kind
        for rule in ReminderRule.objects.all()
        if set(rule.recipients or []) & {str(role) for role in GROUP_ROLES}
    }
    return [kind for kind in Kind.values if kind in group_kinds]


def email_preferences(user) -> dict[str, bool]:
    """Kind → e-mail on? for every kind the user can receive (default on)."""
    stored = dict(
        NotificationPreference.objects.filter(user=user).values_list("kind", "email_enabled")
    )
    return {kind: stored.get(kind, True) for kind in kinds_for(user)}


def email_language(user_id: int) -> str:
    """The language this person reads e-mails in (the site default when never set)."""
    stored = (
        LanguagePreference.objects.filter(user_id=user_id)
        .values_list("language", flat=True)
        .first()
    )
    return stored or settings.LANGUAGE_CODE


def language_preference_set(*, user, language: str) -> LanguagePreference:
    pref = LanguagePreference(user=user, language=language)
    pref.full_clean(validate_unique=False)
    LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})
    return pref


def language_preference_remember(*, user, language: str) -> None:
    """At sign-in: keep the language the person browses in, unless they already chose one."""
    if language in dict(settings.LANGUAGES):
        LanguagePreference.objects.get_or_create(user=user, defaults={"language": language})


@transaction.atomic
def notification_preferences_set(*, user, email_kinds: Iterable[str]) -> dict[str, bool]:
    """Turn e-mail on for `email_kinds` and off for the user's other kinds. The in-app inbox
    is not affected: every reminder still appears there."""
    wanted = set(email_kinds)
    allowed = kinds_for(user)
    for kind in allowed:
        pref = NotificationPreference(user=user, kind=kind, email_enabled=kind in wanted)
        pref.full_clean(validate_unique=False, validate_constraints=False)
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email_enabled": kind in wanted}
        )
    return email_preferences(user)
