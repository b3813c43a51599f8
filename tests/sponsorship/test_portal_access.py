"""Every portal URL with the whole cast: members of the group see their sponsorship; members
of another group and staff without a membership get 404; anonymous visitors sign in first;
a member who lacks the role for an action gets 403 (they may know the page exists)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from families.models import CaseFileAccess

pytestmark = pytest.mark.django_db

# (url name, which object's public_id, roles allowed; None = every member)
SPONSORSHIP_URLS = [
    ("portal:sponsorship", None),
    ("portal:plan", None),
    ("portal:milestone-add", {"coordinator", "treasurer"}),
    ("portal:checkins", None),
    ("portal:checkin-create", None),
    ("portal:income-support", None),
    ("portal:disbursement-create", {"treasurer"}),
    ("portal:reviews", None),
]
MILESTONE_URLS = [("portal:milestone", None)]
REVIEW_URLS = [("portal:review-input", {"coordinator"})]
POST_URLS = [
    ("portal:milestone-complete", "milestone", {"coordinator", "treasurer"}),
    ("portal:milestone-note", "milestone", None),
    ("portal:milestone-waiver", "milestone", {"coordinator", "treasurer"}),
]
CAST = ["member", "coordinator", "treasurer", "other_member", "case_worker", "program_manager"]


def _urls(sponsorship):
    milestone = sponsorship.milestones.first()
    review = sponsorship.reviews.filter(held_on__isnull=True).first()
    for name, roles in SPONSORSHIP_URLS:
        yield reverse(name, args=[sponsorship.public_id]), roles
    for name, roles in MILESTONE_URLS:
        yield reverse(name, args=[milestone.public_id]), roles
    for name, roles in REVIEW_URLS:
        yield reverse(name, args=[review.public_id]), roles


def _expected(who: str, roles) -> int:
    if who in {"other_member", "case_worker", "program_manager"}:
        return 404
    return 200 if roles is None or who in roles else 403


@pytest.mark.parametrize("who", CAST)
def test_it_gives_each_member_of_the_cast_the_right_status_on_every_page(
    request, client, sponsorship, other_sponsorship, who
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url, roles in _urls(sponsorship):
        assert client.get(url).status_code == _expected(who, roles), (who, url)


@pytest.mark.parametrize("who", CAST)
def test_it_refuses_posts_to_outsiders_and_to_members_without_the_role(
    request, client, sponsorship, other_sponsorship, who
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).last()
    for name, _obj, roles in POST_URLS:
        url = reverse(name, args=[milestone.public_id])
        response = client.post(url, {})
        expected = _expected(who, roles)
        # An allowed role posting an empty form sees the page again with errors (200).
        assert response.status_code == expected, (who, name)
    milestone.refresh_from_db()
    assert milestone.completed_on is None and milestone.notes == ""
    assert not milestone.waiver_requested_on


def test_it_sends_anonymous_visitors_to_sign_in_from_every_page(client, sponsorship):
    urls = [url for url, _roles in _urls(sponsorship)]
    urls += [reverse("portal:dashboard"), reverse("portal:inbox")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert client.post(reverse("portal:inbox-read"), {"all": "1"}).status_code == 302


def test_it_gives_404_for_unknown_ids(client, member, sponsorship):
    import uuid

    client.force_login(member)
    for name in ["portal:sponsorship", "portal:plan", "portal:milestone", "portal:review-input"]:
        assert client.get(reverse(name, args=[uuid.uuid4()])).status_code == 404


def test_it_never_puts_integer_ids_in_portal_urls(client, coordinator, sponsorship):
    import re

    client.force_login(coordinator)
    html = client.get(reverse("portal:plan", args=[sponsorship.public_id])).content.decode()
    for href in re.findall(r'href="(/portal/[^"]*)"', html):
        parts = [p for p in href.split("/") if p]
        assert not any(p.isdigit() for p in parts), href


def test_it_logs_every_view_of_the_case_file(client, member, sponsorship):
    client.force_login(member)
    url = reverse("portal:sponsorship", args=[sponsorship.public_id])
    client.get(url)
    client.get(reverse("portal:plan", args=[sponsorship.public_id]))
    client.get(reverse("portal:dashboard"))
    rows = CaseFileAccess.objects.filter(user=member, family=sponsorship.family)
    assert rows.count() == 3
    assert set(rows.values_list("action", flat=True)) == {"view"}
    assert rows.filter(page=url).exists()


def test_it_logs_nothing_for_outsiders(client, other_member, case_worker, sponsorship):
    for user in (other_member, case_worker):
        client.force_login(user)
        client.get(reverse("portal:sponsorship", args=[sponsorship.public_id]))
    assert not CaseFileAccess.objects.filter(family=sponsorship.family).exists()


def test_it_shows_staff_without_a_membership_the_way_to_the_admin(client, case_worker):
    client.force_login(case_worker)
    html = client.get(reverse("portal:dashboard")).content.decode()
    assert "staff admin" in html
    assert "NK-" not in html


def test_the_dashboard_shows_a_group_only_its_own_sponsorship(
    client, other_member, sponsorship, other_sponsorship
):
    client.force_login(other_member)
    html = client.get(reverse("portal:dashboard")).content.decode()
    assert other_sponsorship.family.case_code in html
    assert sponsorship.family.case_code not in html
