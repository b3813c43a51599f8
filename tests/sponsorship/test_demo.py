"""seed_demo: the five-family pilot in its stages, idempotent, fictional."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from families.models import Family, HouseholdMember
from sponsorship import demo
from sponsorship.models import Extension, Membership, Reminder, SponsorGroup, Sponsorship

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Family.objects.count(),
        HouseholdMember.objects.count(),
        SponsorGroup.objects.count(),
        Membership.objects.count(),
        Sponsorship.objects.count(),
        get_user_model().objects.count(),
        Extension.objects.count(),
    )


def test_it_seeds_the_pilot_in_its_stages_and_is_idempotent(settings, capsys, client):
    settings.DEBUG = True
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert "demo-password-2026" in capsys.readouterr().out
    statuses = sorted(Family.objects.values_list("status", flat=True))
    assert statuses == ["arrived"] * 4 + ["matched", "referred", "vetting"]
    assert SponsorGroup.objects.count() == 3
    assert all(f.case_worker_id for f in Family.objects.all())
    by_month = {
        s.current_month(): s
        for s in Sponsorship.objects.with_period().filter(arrival_date__isnull=False)
    }
    assert set(by_month) == {3, 4, 7, 11}
    assert (by_month[3].kind, by_month[7].kind) == (Sponsorship.Kind.BVOR, Sponsorship.Kind.JAS)
    waiting = Sponsorship.objects.get(arrival_date__isnull=True)
    assert 28 <= waiting.days_to_arrival() <= 40  # the flight expected next month
    assert waiting.milestones.get().due_on > timezone.localdate()
    assert by_month[4].milestones.overdue().count() == 1
    assert by_month[11].extensions.get().status == Extension.Status.REQUESTED
    for role in Membership.Role.values:
        assert Membership.objects.filter(role=role).count() == 3
    # The sweep ran: the month-4 group's coordinator (README's first) has reminders waiting.
    first = get_user_model().objects.get(email="coordinator.harbourside@demo.hanvoice.test")
    assert Reminder.objects.filter(recipient=first).exists()
    assert first.memberships.get().group.sponsorships.get().arrival_date is not None
    # ... and sees them on signing in: the inbox lists them, not its empty-inbox sentence.
    client.force_login(first)
    inbox = client.get(reverse("portal:inbox")).content.decode()
    assert "Nothing here yet" not in inbox
    assert inbox.count("inbox-item unread") >= 1
    assert "Reminder ·" in inbox


def test_demo_users_sign_in_with_the_known_password(client):
    demo.seed()
    user = get_user_model().objects.get(email="caseworker@demo.hanvoice.test")
    assert user.check_password(demo.DEMO_PASSWORD)
    assert user.last_name.endswith("demo")


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(Exception, match="DEBUG"):
        call_command("seed_demo")
    assert Family.objects.count() == 0
