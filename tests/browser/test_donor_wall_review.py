"""One donor-wall entry reviewed on its pledge's page in Debian's Chromium: the preview, two
labelled buttons that post, the decision shown after; at a desk's and a phone's width."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import FUNDRAISING
from fundraising.models import Pledge
from tests.factories import CampaignFactory, PledgeFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "tests" / "a11y" / "node_modules" / "axe-core"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": True}  # axe is injected as a script tag


def _sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user.pk))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _serious_axe_violations(page) -> list[str]:
    if not (AXE / "axe.min.js").exists():
        return []  # `make a11y-tools` not run: the crawl in test_accessibility.py says so
    page.add_script_tag(path=str(AXE / "axe.min.js"))
    found = page.evaluate(
        """async () => (await axe.run(document.querySelector('#donor-wall'),
            {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})).violations
            .map(v => `${v.impact} ${v.id} ${v.nodes[0].target.join(' ')}`)"""
    )
    return [v for v in found if v.startswith(("critical", "serious"))]


@pytest.mark.parametrize("width", [1280, 375])
def test_fundraising_staff_decline_then_approve_one_wall_entry(
    live_server, page, screenshot, width
):
    staff = StaffFactory(email="fay@hanvoice.test", first_name="Fay", roles=[FUNDRAISING])
    pledge = PledgeFactory(
        campaign=CampaignFactory(),
        donor_name="Vera Shown",
        public_message="For the families starting over in Toronto this winter.",
        tribute_kind="memory",
        tribute_name="Grandmother Kim",
        confirmed_at=timezone.now(),
    )
    _sign_in(page, live_server, staff)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/admin/fundraising/pledge/{pledge.pk}/change/")

    wall = page.get_by_role("region", name="Donor wall")
    expect(wall.get_by_text("Waiting for review")).to_be_visible()
    expect(wall.get_by_text("In memory of Grandmother Kim")).to_be_visible()
    assert not _serious_axe_violations(page)
    screenshot(page, f"admin-pledge-wall-{width}.png", full_page=False)

    wall.get_by_role("button", name="Decline: keep it off the wall").click()
    page.wait_for_url("**/change/#donor-wall")
    expect(page.get_by_text(f"{pledge.reference} is kept off the donor wall.")).to_be_visible()
    wall = page.get_by_role("region", name="Donor wall")
    expect(wall.get_by_text("Declined by Fay")).to_be_visible()
    assert wall.get_by_role("button", name="Decline: keep it off the wall").count() == 0
    screenshot(page, f"admin-pledge-wall-declined-{width}.png")

    wall.get_by_role("button", name="Approve for the donor wall").click()
    page.wait_for_url("**/change/#donor-wall")
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert pledge.wall_approved_by_id == staff.pk and pledge.wall_declined_at is None
    expect(
        page.get_by_role("region", name="Donor wall").get_by_text("Approved by Fay")
    ).to_be_visible()
