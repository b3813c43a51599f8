"""The sweep is set-based: its queries do not grow with the number of sponsorships.

SELECTs are a constant. INSERTs are counted apart: PostgreSQL writes every new reminder in one
statement (UNNEST, one array per column), so there the whole sweep is a constant number of
statements; SQLite allows 999 parameters per statement, so it inserts in batches
(`INSERT_BATCH` rows at most) whose number follows the *new reminders*, never one per
sponsorship. `BIG_SWEEP=1` runs the same sweep over 10,000.
"""

from __future__ import annotations

import datetime
import math
import os
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.dates import add_months
from core.roles import CASE_WORKER, PROGRAM_MANAGER
from families.models import Family
from sponsorship import reminders
from sponsorship.models import (
    Extension,
    Membership,
    Milestone,
    MonitoringContact,
    MonitoringSchedule,
    Reminder,
    Review,
    SponsorGroup,
    Sponsorship,
)
from tests.factories import StaffFactory
from tests.sponsorship.reminder_helpers import local

TODAY = datetime.date(2026, 9, 16)  # a Wednesday: this week's digest is caught up too
day = datetime.timedelta(days=1)
# due soon 1, overdue 2, review coming 2, period ending 2, extension 1, HanVoice contact due 1
PER_SPONSORSHIP = 9
DIGESTS = 2  # the case worker and the program manager
# rules 1, milestones 2, reviews 2, sponsorships 1, extensions 1, monitoring (schedule,
# sponsorships, contacts) 3, group members 1, staff roles 2, active case workers 1, the new
# rows 1, and the savepoint around the sweep 2.
MAX_SELECTS = 17


def build_program(n: int) -> None:
    """n groups, each with a coordinator and an active sponsorship that has one reminder of
    most kinds due today. Bulk inserts: building 10,000 takes seconds, not minutes."""
    cw = StaffFactory(roles=[CASE_WORKER])
    StaffFactory(roles=[PROGRAM_MANAGER])
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"coord{i}@example.org", email=f"coord{i}@example.org") for i in range(n)]
    )
    groups = SponsorGroup.objects.bulk_create(
        [
            SponsorGroup(
                name=f"Circle {i}", kind="constituent", community="Toronto", status="active",
                settlement_plan_approved_on=datetime.date(2025, 1, 1),
            )
            for i in range(n)
        ]
    )  # fmt: skip
    Membership.objects.bulk_create(
        [
            Membership(user=u, group=g, role="coordinator")
            for u, g in zip(users, groups, strict=True)
        ]
    )
    families = Family.objects.bulk_create(
        [
            Family(case_code=f"NK-2099-{i:05d}", status="arrived",
                   vetted_on=datetime.date(2025, 1, 1), case_worker=cw)
            for i in range(n)
        ]
    )  # fmt: skip
    arrival = add_months(TODAY + 30 * day, -12)  # support ends in 30 days
    sponsorships = Sponsorship.objects.bulk_create(
        [
            Sponsorship(group=g, family=f, matched_on=arrival - 30 * day, arrival_date=arrival)
            for g, f in zip(groups, families, strict=True)
        ]
    )
    Milestone.objects.bulk_create(
        [
            Milestone(sponsorship=s, title="Bank account", due_on=TODAY + 7 * day)
            for s in sponsorships
        ]
        + [Milestone(sponsorship=s, title="SIN", due_on=TODAY - day) for s in sponsorships]
    )
    Review.objects.bulk_create(
        [
            Review(sponsorship=s, label="Month 9", scheduled_for=TODAY + 14 * day)
            for s in sponsorships
        ]
    )
    Extension.objects.bulk_create(
        [
            Extension(
                sponsorship=s, months=3, reason="x", requested_by=u, requested_on=TODAY - 3 * day
            )
            for s, u in zip(sponsorships, users, strict=True)
        ]
    )
    # A HanVoice contact window opening today (support month 12), and a contact each in
    # month 9's window (long closed, so it fires nothing): the contacts are read once.
    MonitoringSchedule.objects.get_or_create(label="Month 12", from_month=12, to_month=12)
    MonitoringContact.objects.bulk_create(
        [
            MonitoringContact(
                sponsorship=s, happened_on=add_months(arrival, 8), kind="phone", recorded_by=cw
            )
            for s in sponsorships
        ]
    )


def sweep_queries(n: int) -> tuple[int, int, int]:
    """(non-INSERT queries, INSERT queries, new rows) of one sweep over n sponsorships."""
    build_program(n)
    with CaptureQueriesContext(connection) as ctx:
        result = reminders.reminder_sweep()
    inserts = sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("INSERT"))
    return len(ctx.captured_queries) - inserts, inserts, result.created


def insert_batches(rows: int) -> int:
    size = reminders.insert_batch_size()
    if size is None:  # PostgreSQL: one statement, whatever the number of rows
        return 1 if rows else 0
    fields = [f for f in Reminder._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [None] * size)
    return math.ceil(rows / min(batch, size))


@pytest.mark.django_db
@pytest.mark.parametrize("n", [20, 200])
def test_it_sweeps_with_a_constant_number_of_selects(
    n, time_machine, django_assert_max_num_queries
):
    time_machine.move_to(local(TODAY), tick=False)
    selects, inserts, created = sweep_queries(n)
    assert created == PER_SPONSORSHIP * n + DIGESTS
    assert inserts == insert_batches(created)
    # The same bound at 20 and 200: every kind, every recipient kind, read once.
    assert selects <= MAX_SELECTS
    Reminder.objects.all().delete()
    with django_assert_max_num_queries(MAX_SELECTS + insert_batches(created)):
        assert reminders.reminder_sweep().created == PER_SPONSORSHIP * n + DIGESTS


@pytest.mark.django_db
def test_it_reads_the_same_queries_at_20_and_200_sponsorships(time_machine):
    time_machine.move_to(local(TODAY), tick=False)
    small = sweep_queries(20)
    Reminder.objects.all().delete()
    MonitoringContact.objects.all().delete()
    Extension.objects.all().delete()
    Review.objects.all().delete()
    Milestone.objects.all().delete()
    Sponsorship.objects.all().delete()
    Membership.objects.all().delete()
    SponsorGroup.objects.all().delete()
    Family.objects.all().delete()
    get_user_model().objects.all().delete()
    large = sweep_queries(200)
    assert small[0] == large[0]  # SELECTs: identical, whatever the size
    # INSERTs follow the new rows in batches (SQLite) or are one statement (PostgreSQL).
    assert (small[1], large[1]) == (insert_batches(small[2]), insert_batches(large[2]))
    if connection.vendor == "postgresql":
        assert small[1] == large[1] == 1  # the whole sweep: the same statements at both sizes


@pytest.mark.django_db
@pytest.mark.skipif(not os.environ.get("BIG_SWEEP"), reason="set BIG_SWEEP=1 (10,000 sponsorships)")
def test_it_sweeps_ten_thousand_sponsorships(time_machine, capsys):
    time_machine.move_to(local(TODAY), tick=True)
    build_program(10_000)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        result = reminders.reminder_sweep()
    elapsed = time.perf_counter() - started
    assert result.created == PER_SPONSORSHIP * 10_000 + DIGESTS
    selects = [
        q for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith("INSERT")
    ]
    assert len(selects) <= MAX_SELECTS
    with capsys.disabled():
        print(
            f"\nsweep over 10,000 sponsorships on {connection.vendor}: {elapsed:.2f} s, "
            f"{len(ctx.captured_queries)} queries ({len(selects)} not INSERT), "
            f"{result.created} reminders written"
        )
