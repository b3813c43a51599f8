"""A member signs the settlement plan on a phone; a program manager sees who has signed and
downloads the evidence pack from the admin. Screenshots at 375 px and 1280 px."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from evidence.models import PlanAcknowledgement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def _sign_in_as(page, live_server, user) -> None:
    page.context.clear_cookies()
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user.pk))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_member_signs_the_plan_and_staff_see_it(
    live_server, page, screenshot, tmp_path, settings, sponsorship, member, coordinator,
    program_manager,
):  # fmt: skip
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    page.set_viewport_size(PHONE)
    _sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/plan/")
    page.get_by_role("link", name="Sign the plan").click()
    expect(page.locator("h1")).to_have_text("Sign the settlement plan")
    page.get_by_label("Your full name").fill("Bob Example")
    screenshot(page, "plan-sign-phone-1.png", full_page=True)
    page.get_by_role("button", name="Sign the plan").click()
    expect(page.get_by_text("Thank you: your signature is recorded.")).to_be_visible()
    expect(page.get_by_text("You signed this version on")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    screenshot(page, "plan-sign-phone-2-signed.png", full_page=True)
    assert PlanAcknowledgement.objects.get().user == member

    page.set_viewport_size(DESKTOP)
    _sign_in_as(page, live_server, program_manager)
    page.goto(f"{live_server.url}/admin/evidence/sponsorshipevidence/{sponsorship.pk}/change/")
    expect(page.get_by_text("Not signed")).to_be_visible()  # the coordinator
    screenshot(page, "evidence-file-admin-desktop.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence pack (ZIP)").click()
    assert download.value.suggested_filename.endswith(".zip")


def test_the_coordinator_names_who_is_responsible_and_members_see_it(
    live_server, page, screenshot, tmp_path, settings, sponsorship, member, coordinator,
    treasurer,
):  # fmt: skip
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    treasurer.first_name, treasurer.last_name = "Tess", "Trent"
    treasurer.save(update_fields=["first_name", "last_name"])
    page.set_viewport_size(PHONE)
    _sign_in_as(page, live_server, coordinator)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/plan/")
    page.get_by_role("link", name="Permanent housing").click()
    page.get_by_label("Responsible member").select_option(label="Tess Trent")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. The plan changed")).to_be_visible()
    expect(page.get_by_text("Responsible: Tess Trent")).to_be_visible()
    screenshot(page, "plan-responsible-phone-1-item.png", full_page=True)

    # A new item of the group's own, with its responsible member named as it is added.
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/plan/add/")
    page.get_by_label("What needs doing").fill("Driving lessons")
    due = sponsorship.arrival_date + datetime.timedelta(days=120)
    page.get_by_label("Due on").fill(due.isoformat())
    page.get_by_label("Responsible member").select_option(label="Tess Trent")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "plan-responsible-phone-3-add.png", full_page=True)
    page.get_by_role("button", name="Add to the plan").click()
    expect(page.get_by_text("Added to the plan: Driving lessons")).to_be_visible()
    assert sponsorship.milestones.get(title="Driving lessons").responsible == treasurer

    _sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/portal/{sponsorship.public_id}/plan/")
    item = page.locator(".milestone-item", has_text="Permanent housing")
    expect(item.get_by_text("Responsible: Tess Trent")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    item.scroll_into_view_if_needed()
    screenshot(page, "plan-responsible-phone-2-plan.png", full_page=True)
    assert sponsorship.milestones.get(title="Permanent housing").responsible == treasurer
