"""Staff see every reminder in the admin (filters, failed rows, resend); rules are data
edited there; every user chooses which reminders also come by e-mail."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fundraising import services as fundraising_services
from sponsorship import reminders
from sponsorship.models import NotificationPreference, Reminder, ReminderRule
from tests.sponsorship.reminder_helpers import milestone

K = Reminder.Kind
CHANGELIST = "admin:sponsorship_reminder_changelist"


@pytest.fixture
def queued(sponsorship, coordinator, case_worker, program_manager):
    """Three reminders: sent, failed for good, and sent to the case worker (unread)."""
    today = timezone.localdate()
    m = milestone(sponsorship, today + datetime.timedelta(days=7))
    now = timezone.now()
    make = Reminder.objects.create
    sent = make(kind=K.MILESTONE_DUE, subject_key=f"milestone:{m.pk}", due_on=today,
                recipient=coordinator, group=sponsorship.group, sponsorship=sponsorship,
                milestone=m, sent_at=now, emailed=True, attempts=1)  # fmt: skip
    failed = make(kind=K.MILESTONE_DUE, subject_key=f"milestone:{m.pk}", due_on=today,
                  recipient=case_worker, group=sponsorship.group, sponsorship=sponsorship,
                  milestone=m, attempts=5, failed_at=now,
                  last_error="SMTPRecipientsRefused: 550")  # fmt: skip
    mine = make(kind=K.REVIEW_OVERDUE, subject_key="review:1", due_on=today, recipient=case_worker,
                group=sponsorship.group, sponsorship=sponsorship, sent_at=now)  # fmt: skip
    return {"sent": sent, "failed": failed, "mine": mine}


def test_it_lists_every_reminder_with_its_state_for_staff(client, program_manager, queued):
    client.force_login(program_manager)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Failed: gave up" in page and "E-mailed" in page
    assert "SMTPRecipientsRefused" in page
    assert queued["sent"].sponsorship.family.case_code in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "failed"}, {"failed"}),
        ({"state": "sent"}, {"sent"}),
        ({"kind__exact": K.REVIEW_OVERDUE}, {"mine"}),
        ({"mine": "all"}, {"failed", "mine"}),
    ],
)
def test_it_filters_reminders_by_state_kind_and_recipient(
    client, case_worker, queued, query, expected
):
    client.force_login(case_worker)
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    shown = {r.pk for r in response.context["cl"].result_list}
    assert shown == {queued[name].pk for name in expected}


def test_it_searches_reminders_by_case_code(client, program_manager, queued, other_sponsorship):
    client.force_login(program_manager)
    code = queued["sent"].sponsorship.family.case_code
    response = client.get(reverse(CHANGELIST), {"q": code})
    assert len(response.context["cl"].result_list) == 3
    response = client.get(reverse(CHANGELIST), {"q": other_sponsorship.family.case_code})
    assert len(response.context["cl"].result_list) == 0


def test_it_keeps_reminders_from_fundraising_staff_and_outsiders(
    client, fundraiser, member, queued
):
    client.force_login(fundraiser)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    change = reverse("admin:sponsorship_reminder_change", args=[queued["sent"].pk])
    assert client.get(change).status_code == 403
    client.force_login(member)  # not staff: sent to the admin's sign-in page
    assert client.get(reverse(CHANGELIST)).status_code == 302


def test_it_resends_a_failed_reminder_from_the_admin(
    client, case_worker, queued, django_capture_on_commit_callbacks
):
    client.force_login(case_worker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {"action": "resend", "_selected_action": [queued["failed"].pk]},
            follow=True,
        )
    assert "1 reminder queued to be sent again" in response.content.decode()
    failed = queued["failed"]
    failed.refresh_from_db()
    assert failed.sent_at and failed.failed_at is None and failed.attempts == 1
    assert [m.to for m in mail.outbox] == [["alice@hanvoice.test"]]


def test_it_has_no_add_or_delete_for_reminders(client, program_manager, queued):
    client.force_login(program_manager)
    assert client.get(reverse("admin:sponsorship_reminder_add")).status_code == 403
    delete = reverse("admin:sponsorship_reminder_delete", args=[queued["sent"].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Reminder.objects.filter(pk=queued["sent"].pk).exists()


def test_it_marks_a_staff_members_reminder_read_when_opened(client, case_worker, queued):
    client.force_login(case_worker)
    client.get(reverse("admin:sponsorship_reminder_change", args=[queued["mine"].pk]))
    client.get(reverse("admin:sponsorship_reminder_change", args=[queued["sent"].pk]))
    queued["mine"].refresh_from_db()
    queued["sent"].refresh_from_db()
    assert queued["mine"].read_at is not None
    assert queued["sent"].read_at is None  # someone else's


def _rule_form(rule: ReminderRule, **changes) -> dict:
    data = {
        "enabled": "on" if rule.enabled else "",
        "days": ", ".join(str(d) for d in rule.days),
        "repeat_every_days": rule.repeat_every_days or "",
        "max_count": rule.max_count,
        "recipients": rule.recipients,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_it_lets_staff_edit_a_rule_as_data(client, program_manager):
    client.force_login(program_manager)
    rule = ReminderRule.objects.get(kind=K.PERIOD_ENDING)
    url = reverse("admin:sponsorship_reminderrule_change", args=[rule.pk])
    response = client.post(url, _rule_form(rule, days="-60, -120, -14", max_count=3))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.days == [-120, -60, -14] and rule.max_count == 3


@pytest.mark.parametrize(
    ("kind", "changes", "error"),
    [
        (K.PERIOD_ENDING, {"days": "-90, -30, -7"}, "at least the number of days"),
        (K.PERIOD_ENDING, {"days": "soon"}, "whole numbers of days"),
        (K.URGENT_CONCERN, {"enabled": ""}, "cannot be turned off"),
        (K.WEEKLY_DIGEST, {"recipients": ["coordinator"]}, "staff only"),
    ],
)
def test_it_refuses_a_rule_that_would_lose_reminders(client, program_manager, kind, changes, error):
    client.force_login(program_manager)
    rule = ReminderRule.objects.get(kind=kind)
    before = (rule.days, rule.enabled, rule.recipients)
    url = reverse("admin:sponsorship_reminderrule_change", args=[rule.pk])
    response = client.post(url, _rule_form(rule, **changes))
    assert response.status_code == 200
    assert error in response.content.decode()
    rule.refresh_from_db()
    assert (rule.days, rule.enabled, rule.recipients) == before


# --- e-mail preferences page ---------------------------------------------------------------

PREFS = "notification-preferences"


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse(PREFS))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_shows_a_group_member_only_the_reminders_groups_receive(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse(PREFS))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert "Milestone due soon" in page and "Support period ending" in page
    assert "Weekly digest" not in page and "Extension awaiting approval" not in page
    assert "always appears in your inbox" in page


def test_it_saves_e_mail_preferences_and_keeps_the_inbox(
    client, coordinator, sponsorship, django_capture_on_commit_callbacks, time_machine
):
    client.force_login(coordinator)
    kinds = reminders.kinds_for(coordinator)
    keep = [k for k in kinds if k != K.MILESTONE_DUE]
    data = {**dict.fromkeys(keep, "on"), "language": "en"}
    response = client.post(reverse(PREFS), data, follow=True)
    assert "Your e-mail preferences are saved." in response.content.decode()
    assert (
        NotificationPreference.objects.get(user=coordinator, kind=K.MILESTONE_DUE).email_enabled
        is False
    )
    assert NotificationPreference.objects.get(
        user=coordinator, kind=K.MILESTONE_OVERDUE
    ).email_enabled

    ReminderRule.objects.filter(kind=K.WEEKLY_DIGEST).update(enabled=False)
    milestone(sponsorship, timezone.localdate() + datetime.timedelta(days=7))
    with django_capture_on_commit_callbacks(execute=True):
        reminders.reminder_sweep()
    row = Reminder.objects.get(recipient=coordinator, kind=K.MILESTONE_DUE)
    assert row.sent_at and not row.emailed
    assert "cora@example.org" not in [a for m in mail.outbox for a in m.to]


def test_it_offers_staff_every_kind(client, program_manager):
    client.force_login(program_manager)
    page = client.get(reverse(PREFS)).content.decode()
    for label in Reminder.Kind.labels:
        assert str(label) in page


# --- the command ---------------------------------------------------------------------------


def test_it_runs_the_family_and_donor_sweeps_by_hand(
    sponsorship, coordinator, monkeypatch, capsys, django_capture_on_commit_callbacks
):

    ReminderRule.objects.filter(kind=K.WEEKLY_DIGEST).update(enabled=False)
    milestone(sponsorship, timezone.localdate() + datetime.timedelta(days=7))
    calls = []
    monkeypatch.setattr(
        fundraising_services, "donor_reminder_sweep", lambda: calls.append("swept") or 3
    )
    with django_capture_on_commit_callbacks(execute=False):
        call_command("send_reminders", "--deliver")
    out = capsys.readouterr().out
    written = Reminder.objects.count()  # the fixture's plan has more due today
    assert written >= 1
    assert f"Family reminders: {written} new reminder(s) queued." in out
    assert "Donor reminders: 3 new reminder(s) queued." in out
    assert f"Delivered now: {written} sent." in out
    assert calls == ["swept"]
    assert len(mail.outbox) == written
    assert ["cora@example.org"] in [m.to for m in mail.outbox]
