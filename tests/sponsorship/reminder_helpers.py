"""Shared helpers for the reminder tests: a frozen local clock and a small program."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.core import mail

from sponsorship import reminders
from sponsorship.models import Milestone, Reminder, Review

TZ = ZoneInfo("America/Toronto")


def seed_catalogues() -> None:
    """Re-run migration 0002's idempotent seed: a transactional test's flush empties the
    catalogue tables (reminder rules among them) for the transactional tests after it."""
    from importlib import import_module

    from django.apps import apps

    import_module("sponsorship.migrations.0002_seed_catalogues").seed(apps, None)


def local(day: datetime.date, hour: int = 6, minute: int = 0) -> datetime.datetime:
    """An aware moment on `day` in the program's time zone (06:00: when beat sweeps)."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def sweep(capture) -> reminders.SweepResult:
    """Run the sweep and the deliveries it queues on commit (tasks run eagerly in tests)."""
    with capture(execute=True):
        return reminders.reminder_sweep()


def milestone(sponsorship, due_on: datetime.date, title="Bank account opened") -> Milestone:
    return Milestone.objects.create(sponsorship=sponsorship, title=title, due_on=due_on)


def review(sponsorship, on: datetime.date, label="Month 3 review") -> Review:
    return Review.objects.create(sponsorship=sponsorship, label=label, scheduled_for=on)


def rows(**filters) -> list[tuple]:
    """(kind, subject_key, due_on, recipient e-mail) of matching reminders, sorted."""
    return sorted(
        Reminder.objects.filter(**filters).values_list(
            "kind", "subject_key", "due_on", "recipient__email"
        )
    )


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)
