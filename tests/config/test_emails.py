"""The e-mail helper: a stable Message-ID per row, so a resend after a crash is one message."""

from __future__ import annotations

from django.core import mail

from core import emails
from sponsorship import reminders
from sponsorship.models import Reminder


def test_a_message_key_gives_the_same_message_id_every_time(settings):
    settings.SITE_URL = "https://sponsor.hanvoice.ca"
    assert emails.stable_message_id("reminder-42") == "<reminder-42@sponsor.hanvoice.ca>"
    assert emails.stable_message_id("reminder-42") == emails.stable_message_id("reminder-42")


def test_a_reminder_e_mail_carries_its_rows_message_id(sponsorship, coordinator):
    from django.utils import timezone

    milestone = sponsorship.milestones.filter(completed_on__isnull=True).latest("due_on")
    row = Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_DUE,
        subject_key=f"milestone:{milestone.pk}",
        due_on=timezone.localdate(),
        recipient=coordinator,
        sponsorship=sponsorship,
        milestone=milestone,
        group=sponsorship.group,
    )
    assert reminders.reminder_deliver(reminder_id=row.pk) == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == emails.stable_message_id(
        f"reminder-{row.pk}"
    )
