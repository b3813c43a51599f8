"""The e-mail preferences page and the staff reminder list, in Chromium, with screenshots."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from sponsorship import reminders, services
from sponsorship.models import CheckIn, NotificationPreference, Reminder, Sponsorship
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


def test_a_member_turns_off_e_mail_for_one_kind(live_server, page, coordinator, screenshot):
    _sign_in(page, live_server, coordinator.email)
    page.goto(f"{live_server.url}/accounts/notifications/")
    assert page.locator("h1").count() == 1
    checkbox = page.get_by_label("Milestone due soon")
    assert checkbox.is_checked()
    checkbox.uncheck()
    screenshot(page, "reminders-preferences.png", full_page=True)
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your e-mail preferences are saved.")).to_be_visible()
    assert not page.get_by_label("Milestone due soon").is_checked()
    pref = NotificationPreference.objects.get(user=coordinator, kind="milestone_due")
    assert pref.email_enabled is False


def test_staff_see_failed_reminders_in_the_admin(
    live_server, page, program_manager, sponsorship, coordinator, screenshot
):
    now = timezone.now()
    Reminder.objects.create(
        kind="milestone_overdue", subject_key="milestone:1", due_on=timezone.localdate(),
        recipient=coordinator, group=sponsorship.group, sponsorship=sponsorship,
        attempts=5, failed_at=now, last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
    )  # fmt: skip
    _sign_in(page, live_server, program_manager.email)
    page.goto(f"{live_server.url}/admin/sponsorship/reminder/?state=failed")
    expect(page.get_by_text("Failed: gave up").first).to_be_visible()
    expect(page.get_by_text(sponsorship.family.case_code).first).to_be_visible()
    screenshot(page, "reminders-admin-failed.png", full_page=True)


def _checkin(sponsorship, user, concern: str, level=CheckIn.Concern.NONE) -> CheckIn:
    return CheckIn.objects.create(
        sponsorship=sponsorship, happened_on=timezone.localdate(), who="Cora",
        wellbeing=CheckIn.Wellbeing.STRUGGLING, concern_level=level, concern=concern,
        summary="Visited the flat.", logged_by=user,
    )  # fmt: skip


@pytest.mark.parametrize("width", [1280, 375])
def test_the_case_worker_follows_the_urgent_concern_link_to_the_check_in(
    live_server, page, sponsorship, other_sponsorship, coordinator, case_worker, screenshot,
    width,
):  # fmt: skip
    # Check-ins numbered unlike the families (the page once matched one with the other).
    for n in range(3):
        _checkin(other_sponsorship, coordinator, f"Other group's note {n}")
    urgent = "The landlord threatened to evict the family on Friday."
    checkin = _checkin(sponsorship, coordinator, urgent, level=CheckIn.Concern.URGENT)
    if checkin.pk == sponsorship.family.pk:  # the tests run before may have aligned the two
        checkin.delete()
        checkin = _checkin(sponsorship, coordinator, urgent, level=CheckIn.Concern.URGENT)
    assert checkin.pk != sponsorship.family.pk
    reminders.notify_urgent_concern(checkin=checkin)
    (message,) = [m for m in mail.outbox if case_worker.email in m.to]
    link = re.search(re.escape(settings.SITE_URL) + r"(/admin/\S+/change/)", message.body)
    assert link and str(checkin.public_id) in link.group(1)

    _sign_in(page, live_server, case_worker.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + link.group(1))
    expect(
        page.get_by_text("The landlord threatened to evict the family on Friday.")
    ).to_be_visible()
    expect(page.get_by_text(sponsorship.group.name).first).to_be_visible()
    screenshot(page, f"admin-checkin-urgent-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_staff_find_the_continuity_items_of_a_breakdown_in_the_milestone_list(
    live_server, page, sponsorship, case_worker, screenshot, width
):
    services.sponsorship_record_breakdown(
        sponsorship=sponsorship,
        ircc_notified_on=timezone.localdate(),
        resolution=Sponsorship.BreakdownResolution.GOVERNMENT,
        reason="The group dissolved.",
        recorded_by=case_worker,
    )
    _sign_in(page, live_server, case_worker.email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/admin/sponsorship/milestone/?continuity__exact=1")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 4
    expect(page.get_by_text("Next month's income support confirmed without a gap")).to_be_visible()
    screenshot(page, f"admin-milestones-continuity-{width}.png", full_page=True)
