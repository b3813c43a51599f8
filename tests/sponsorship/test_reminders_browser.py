"""The e-mail preferences page and the staff reminder list, in Chromium, with screenshots."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sponsorship.models import NotificationPreference, Reminder
from tests.factories import PASSWORD
from tests.sponsorship.reminder_helpers import seed_catalogues

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded"),
]


@pytest.fixture
def seeded(transactional_db):
    """An earlier transactional test's flush may have emptied the reminder rules."""
    seed_catalogues()


def _sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Wait for the sign-in to land before going elsewhere (a slow machine races it).
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_member_turns_off_e_mail_for_one_kind(live_server, page, coordinator, artifacts_dir):
    _sign_in(page, live_server, coordinator.email)
    page.goto(f"{live_server.url}/accounts/notifications/")
    assert page.locator("h1").count() == 1
    checkbox = page.get_by_label("Milestone due soon")
    assert checkbox.is_checked()
    checkbox.uncheck()
    page.screenshot(path=artifacts_dir / "reminders-preferences.png", full_page=True)
    page.get_by_role("button", name="Save preferences").click()
    assert page.get_by_text("Your e-mail preferences are saved.").is_visible()
    assert not page.get_by_label("Milestone due soon").is_checked()
    pref = NotificationPreference.objects.get(user=coordinator, kind="milestone_due")
    assert pref.email_enabled is False


def test_staff_see_failed_reminders_in_the_admin(
    live_server, page, program_manager, sponsorship, coordinator, artifacts_dir
):
    now = timezone.now()
    Reminder.objects.create(
        kind="milestone_overdue", subject_key="milestone:1", due_on=timezone.localdate(),
        recipient=coordinator, group=sponsorship.group, sponsorship=sponsorship,
        attempts=5, failed_at=now, last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
    )  # fmt: skip
    _sign_in(page, live_server, program_manager.email)
    page.goto(f"{live_server.url}/admin/sponsorship/reminder/?state=failed")
    assert page.get_by_text("Failed: gave up").first.is_visible()
    assert page.get_by_text(sponsorship.family.case_code).first.is_visible()
    page.screenshot(path=artifacts_dir / "reminders-admin-failed.png", full_page=True)
