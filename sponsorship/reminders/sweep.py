"""The daily sweep: what is due today becomes Reminder rows, queued after commit."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from core import outbox
from core.dates import add_months
from core.roles import CASE_WORKER, PROGRAM_MANAGER
from sponsorship import portal_cache
from sponsorship.kinds import rules_for
from sponsorship.models import (
    Extension,
    Membership,
    Milestone,
    MonitoringContact,
    MonitoringSchedule,
    Reminder,
    ReminderRule,
    Review,
    Sponsorship,
)
from sponsorship.period import Period
from sponsorship.reminders.rules import (
    BEFORE_KINDS,
    GROUP_ROLES,
    INSERT_BATCH,
    Kind,
    R,
    base_range,
    digest_key,
    latest_fire_date,
    monitoring_key,
    period_key,
    rule_offsets,
    staff_recipients,
)
from sponsorship.selectors import monitoring_windows

logger = logging.getLogger(__name__)

# By name, so the sweep never imports the tasks module (which imports the reminders).
DELIVER_TASK = "sponsorship.tasks.deliver_reminder"


@dataclass
class Candidate:
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
    # The sponsorship has ended but the item still applies (a support-continuity item after
    # a breakdown without a transfer): staff only, the group is gone (`staff_recipients`).
    staff_only: bool = False


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
) -> Iterable[Candidate]:
    """Candidates for objects that fall due on a date (milestones, reviews): one query per
    kind, bounded to the dates the rule's offsets can fire on as of today. `open_rows` are
    those still reminded of; rows of an ended sponsorship among them go to staff only."""
    for kind in kinds:
        offsets = rules.get(kind)
        if not offsets:
            continue
        low, high = base_range(offsets, today)
        if kind in BEFORE_KINDS:
            low = max(low, today)
        rows = open_rows.filter(**{f"{date_field}__range": (low, high)}).values(
            "pk", date_field, "sponsorship_id", "sponsorship__group_id",
            "sponsorship__family__case_worker_id", "sponsorship__outcome",
        )  # fmt: skip
        for row in rows:
            fire = latest_fire_date(row[date_field], offsets, today)
            if fire is None:
                continue
            ended = row["sponsorship__outcome"] != Sponsorship.Outcome.ACTIVE
            yield Candidate(
                kind=kind,
                subject_key=f"{subject}:{row['pk']}",
                fire_on=fire,
                group_id=None if ended else row["sponsorship__group_id"],
                sponsorship_id=row["sponsorship_id"],
                case_worker_id=row["sponsorship__family__case_worker_id"],
                staff_only=ended,
                **{f"{subject}_id": row["pk"]},
            )


def _milestone_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
    return _dated_candidates(
        rules, today, kinds=(Kind.MILESTONE_DUE, Kind.MILESTONE_OVERDUE),
        open_rows=Milestone.objects.reminded(), date_field="due_on", subject="milestone",
    )  # fmt: skip


def _review_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
    return _dated_candidates(
        rules, today, kinds=(Kind.REVIEW_DUE, Kind.REVIEW_OVERDUE),
        open_rows=Review.objects.filter(
            held_on__isnull=True, sponsorship__outcome=Sponsorship.Outcome.ACTIVE
        ),
        date_field="scheduled_for",
        subject="review",
    )  # fmt: skip


def _period_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
    kinds = [k for k in (Kind.PERIOD_ENDING, Kind.MONTH_13) if rules.get(k)]
    if not kinds:
        return
    # Only periods whose month 13 (the SQL form of `Period.month_13_on`) is near enough for a
    # rule to fire today or within the catch-up window.
    low, high = base_range(sorted({o for k in kinds for o in rules[k]}), today)
    rows = (
        Sponsorship.objects.active()
        .filter(arrival_date__isnull=False)
        .with_period()
        .filter(period_month_13_on__range=(low, high))
        .values(
            "pk",
            "kind",
            "arrival_date",
            "approved_extension_months",
            "group_id",
            "family__case_worker_id",
        )  # fmt: skip
    )
    for row in rows:
        month_13 = Period.of(
            row["arrival_date"],
            int(row["approved_extension_months"] or 0),
            rules_for(row["kind"]).base_months,
        ).month_13_on
        for kind in kinds:
            if kind in BEFORE_KINDS and today >= month_13:
                continue  # the period has ended: the month-13 reminder takes over
            fire = latest_fire_date(month_13, rules[kind], today)
            if fire is None:
                continue
            yield Candidate(
                kind=kind,
                subject_key=period_key(row["pk"], month_13),
                fire_on=fire,
                group_id=row["group_id"],
                sponsorship_id=row["pk"],
                case_worker_id=row["family__case_worker_id"],
            )


def _extension_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
    offsets = rules.get(Kind.EXTENSION_PENDING)
    if not offsets:
        return
    low, high = base_range(offsets, today)
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
        yield Candidate(
            kind=Kind.EXTENSION_PENDING,
            subject_key=f"extension:{row['pk']}",
            fire_on=fire,
            group_id=row["sponsorship__group_id"],
            sponsorship_id=row["sponsorship_id"],
            case_worker_id=row["sponsorship__family__case_worker_id"],
            extension_id=row["pk"],
        )


def _monitoring_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
    """HanVoice's own scheduled contacts with the family (docs/evidence.md): "due" on the day
    a window opens, "overdue" after it closed, each while no contact is recorded in it.
    Three queries whatever the number of sponsorships: the schedule, the sponsorships whose
    windows can fire as of today, and their contacts."""
    kinds = [k for k in (Kind.MONITORING_DUE, Kind.MONITORING_OVERDUE) if rules.get(k)]
    if not kinds:
        return
    schedules = list(MonitoringSchedule.objects.filter(is_active=True))
    if not schedules:
        return
    # A window opens at the start of support month `from_month` and closes at the end of
    # `to_month`: only arrivals that recent can have a window whose rule fires today.
    low, high = base_range(sorted({o for k in kinds for o in rules[k]}), today)
    last_month = max(schedule.to_month for schedule in schedules)
    recent = Sponsorship.objects.active().filter(
        arrival_date__range=(add_months(low, -last_month) - datetime.timedelta(days=3), high)
    )
    rows = list(
        recent.values("pk", "arrival_date", "group_id", "family__case_worker_id").order_by("pk")
    )
    if not rows:
        return
    contacts: dict[int, list[datetime.date]] = defaultdict(list)
    for sponsorship_id, happened_on in MonitoringContact.objects.filter(
        sponsorship__in=recent, happened_on__lte=today
    ).values_list("sponsorship_id", "happened_on"):
        contacts[sponsorship_id].append(happened_on)
    for row in rows:
        transient = Sponsorship(arrival_date=row["arrival_date"])
        for window in monitoring_windows(transient, schedules, contacts.get(row["pk"], [])):
            if window.contacted_on is not None:
                continue
            for kind in kinds:
                if kind == Kind.MONITORING_DUE:
                    if today > window.closes_on:
                        continue  # the window closed: the overdue reminder takes over
                    base = window.opens_on
                else:
                    base = window.closes_on
                fire = latest_fire_date(base, rules[kind], today)
                if fire is None:
                    continue
                yield Candidate(
                    kind=kind,
                    subject_key=monitoring_key(row["pk"], window.schedule.pk, window.opens_on),
                    fire_on=fire,
                    group_id=row["group_id"],
                    sponsorship_id=row["pk"],
                    case_worker_id=row["family__case_worker_id"],
                )


def _digest_candidates(rules: dict, today: datetime.date) -> Iterable[Candidate]:
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
        yield Candidate(kind=Kind.WEEKLY_DIGEST, subject_key=digest_key(best[1]), fire_on=best[0])


class Recipients:
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

    def resolve(self, candidate: Candidate, wanted: Sequence[str]) -> set[int]:
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
    _monitoring_candidates,
    _digest_candidates,
)


def insert_batch_size() -> int | None:
    """Rows per INSERT of the sweep. PostgreSQL takes every row in one statement: Django
    sends one array per column (INSERT ... SELECT * FROM UNNEST), so the statement's size in
    parameters does not grow with the rows and the sweep's statements stay constant. Other
    databases cap parameters per statement (SQLite: 999): batches of INSERT_BATCH at most,
    whose number follows the reminders written, never the sponsorships scanned."""
    return None if connection.vendor == "postgresql" else INSERT_BATCH


@transaction.atomic
def reminder_sweep(*, today: datetime.date | None = None) -> SweepResult:
    """Write a row for every reminder due as of `today` (default: today in TIME_ZONE).

    Set-based: one query per reminder kind, one per recipient kind, then the inserts (one
    statement on PostgreSQL, see `insert_batch_size`); the number of queries does not depend
    on the number of sponsorships. Idempotent: rows
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
    recipients = Recipients()
    rows: list[Reminder] = []
    for find in SWEPT_KINDS:
        for c in find(offsets, today):
            wanted = rules[c.kind][1]
            if c.staff_only:
                wanted = staff_recipients(wanted)
            for user_id in sorted(recipients.resolve(c, wanted)):
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
        Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=insert_batch_size())
        portal_cache.users_changed({row.recipient_id for row in rows})  # no signal
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
    return outbox.enqueue(DELIVER_TASK, ids, label="reminder")
