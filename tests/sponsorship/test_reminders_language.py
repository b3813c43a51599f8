"""Reminder e-mails are written in the language the recipient reads."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from sponsorship import reminders
from sponsorship.models import LanguagePreference, Reminder
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _due_reminder(sponsorship, recipient) -> Reminder:
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).latest("due_on")
    return Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_DUE,
        subject_key=f"milestone:{milestone.pk}",
        due_on=timezone.localdate(),
        recipient=recipient,
        sponsorship=sponsorship,
        milestone=milestone,
        group=sponsorship.group,
    )


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_it_writes_a_reminder_in_korean_for_a_korean_reader(sponsorship, coordinator):
    LanguagePreference.objects.create(user=coordinator, language="ko")
    row = _due_reminder(sponsorship, coordinator)
    assert reminders.reminder_deliver(reminder_id=row.pk) == "sent"
    assert _has_hangul(mail.outbox[-1].subject)
    assert _has_hangul(mail.outbox[-1].body)


def test_it_defaults_to_the_site_language(sponsorship, coordinator):
    row = _due_reminder(sponsorship, coordinator)
    assert reminders.reminder_deliver(reminder_id=row.pk) == "sent"
    assert not _has_hangul(mail.outbox[-1].subject + mail.outbox[-1].body)


def test_signing_in_remembers_the_language_being_browsed(client, member):
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    client.post("/accounts/login/", {"username": member.email, "password": PASSWORD})
    assert LanguagePreference.objects.get(user=member).language == "fr"


def test_signing_in_keeps_a_language_already_chosen(client, member):
    LanguagePreference.objects.create(user=member, language="ko")
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    client.post("/accounts/login/", {"username": member.email, "password": PASSWORD})
    assert LanguagePreference.objects.get(user=member).language == "ko"


def test_the_preferences_page_sets_the_e_mail_language(client, member):
    client.force_login(member)
    page = client.get("/accounts/notifications/")
    assert 'name="language"' in page.content.decode()
    response = client.post("/accounts/notifications/", {"language": "ko"})
    assert response.status_code == 302
    assert LanguagePreference.objects.get(user=member).language == "ko"


def test_an_unknown_language_is_refused_next_to_the_field(client, member):
    client.force_login(member)
    response = client.post("/accounts/notifications/", {"language": "xx"})
    assert response.status_code == 200
    assert not LanguagePreference.objects.filter(user=member).exists()
    assert "is-invalid" in response.content.decode()
