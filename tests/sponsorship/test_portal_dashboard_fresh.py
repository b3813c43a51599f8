"""The portal dashboard is kept between requests (sponsorship/portal_cache.py): every kind of
data it shows, changed the way the program changes it, shows on the very next page."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.page_slots import CSRF_SLOT
from core.summaries import SUMMARY_MAX_AGE
from families.models import CaseFileAccess
from sponsorship import portal_services, services
from sponsorship.models import (
    ArrivalEstimate,
    CostTableEntry,
    Disbursement,
    GroupMessage,
    InKindItem,
    Membership,
    Milestone,
    Reminder,
    Review,
    Sponsorship,
)
from tests.factories import HouseholdMemberFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r"(form=|value=\")[0-9a-zA-Z-]{32,}")


def _page(client) -> str:
    """The dashboard, without what differs on every view (form and CSRF tokens)."""
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    return TOKEN.sub(r"\1-", response.content.decode())


def _overdue(s: Sponsorship) -> Milestone:
    return s.milestones.filter(completed_on__isnull=True, due_on__lt=timezone.localdate()).first()


def _complete(s, user, staff):
    portal_services.milestone_complete(
        milestone=_overdue(s), user=user, completed_on=timezone.localdate()
    )


def _add_item(s, user, staff):
    Milestone.objects.create(sponsorship=s, title="Library card", due_on=timezone.localdate())


def _hold_review(s, user, staff):
    services.review_record(
        review=s.reviews.filter(held_on__isnull=True).order_by("scheduled_for").first(),
        held_on=timezone.localdate(),
        reviewer=staff,
        outcome=Review.Outcome.ON_TRACK,
    )


def _pay(s, user, staff):
    Disbursement.objects.create(
        sponsorship=s,
        month_number=1,
        amount=Decimal("100.00"),
        paid_on=timezone.localdate(),
        method="cash",
        recorded_by=user,
    )


def _give_in_kind(s, user, staff):
    InKindItem.objects.create(
        sponsorship=s, description="Beds", estimated_value=Decimal("400.00"), recorded_by=user
    )


def _extend(s, user, staff):
    extension = services.extension_request(
        sponsorship=s, months=3, reason="Still looking for work", requested_by=staff
    )
    services.extension_approve(extension=extension, approved_by=staff)


def _add_member(s, user, staff):
    HouseholdMemberFactory(family=s.family, given_name="Minji")


def _rename_family_file(s, user, staff):
    s.family.case_code = "NK-2099-0042"
    s.family.save()


def _rename_group(s, user, staff):
    s.group.name = "Maple Street Circle"
    s.group.save()


def _change_role(s, user, staff):
    membership = Membership.objects.get(user=user, group=s.group)
    membership.role = Membership.Role.TREASURER
    membership.save()


def _leave_group(s, user, staff):
    Membership.objects.filter(user=user, group=s.group).delete()


def _new_sponsorship(s, user, staff):
    SponsorshipFactory(group=s.group, arrival_date=timezone.localdate())


def _end(s, user, staff):
    s.outcome = Sponsorship.Outcome.COMPLETED
    s.ended_on = timezone.localdate()
    s.save()


def _expect_arrival(s, user, staff):
    waiting = Sponsorship.objects.get(group=s.group, arrival_date__isnull=True)
    ArrivalEstimate.objects.create(
        sponsorship=waiting,
        expected_on=timezone.localdate() + datetime.timedelta(days=9),
        source=ArrivalEstimate.Source.ESTIMATE,
        recorded_by=staff,
    )


def _remind(s, user, staff):
    Reminder.objects.create(
        kind="milestone_overdue",
        subject_key="milestone:fresh",
        due_on=timezone.localdate(),
        recipient=user,
        sponsorship=s,
        milestone=_overdue(s),
    )


def _message(s, user, staff):
    GroupMessage.objects.create(group=s.group, sender=staff, subject="Tax clinic", body="Sat")


def _read_everything(s, user, staff):
    portal_services.inbox_mark_read(user=user, everything=True)


def _cost_table(s, user, staff):
    for row in CostTableEntry.objects.all():
        row.income_support += Decimal("1200.00")
        row.save()


CHANGES: dict[str, Callable] = {
    "milestone done": _complete,
    "milestone added": _add_item,
    "review held": _hold_review,
    "payment recorded": _pay,
    "goods given in kind": _give_in_kind,
    "extension approved": _extend,
    "household member added": _add_member,
    "case code changed": _rename_family_file,
    "group renamed": _rename_group,
    "role changed": _change_role,
    "left the group": _leave_group,
    "new sponsorship": _new_sponsorship,
    "sponsorship ended": _end,
    "expected arrival": _expect_arrival,
    "reminder": _remind,
    "message to the group": _message,
    "cost table": _cost_table,
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_each_kind_of_change_shows_on_the_next_page(
    client, coordinator, sponsorship, program_manager, change
):
    if change == "expected arrival":
        SponsorshipFactory(group=sponsorship.group, arrival_date=None)
    client.force_login(coordinator)
    before = _page(client)
    assert _page(client) == before  # kept: the same page again
    CHANGES[change](sponsorship, coordinator, program_manager)
    assert _page(client) != before


@pytest.mark.parametrize("what", ["reminder", "message to the group"])
def test_marking_the_inbox_read_shows_on_the_next_page(
    client, coordinator, sponsorship, program_manager, what
):
    CHANGES[what](sponsorship, coordinator, program_manager)
    client.force_login(coordinator)
    before = _page(client)
    assert "1 unread reminder or message" in before
    _read_everything(sponsorship, coordinator, program_manager)
    after = _page(client)
    assert "unread reminder" not in after and after != before


def test_a_member_who_left_sees_nothing_even_with_the_cache_unreachable_for_the_drop(
    client, coordinator, sponsorship, monkeypatch
):
    """Who sees which sponsorship is read on every request, not kept: a drop that never
    reached the cache (an outage) cannot keep showing a family to someone who left."""
    client.force_login(coordinator)
    assert sponsorship.family.case_code in _page(client)
    monkeypatch.setattr("core.summaries.drop", lambda *keys: None)
    Membership.objects.filter(user=coordinator).delete()
    logged = CaseFileAccess.objects.filter(family=sponsorship.family).count()
    assert sponsorship.family.case_code not in _page(client)
    assert CaseFileAccess.objects.filter(family=sponsorship.family).count() == logged


def test_the_cache_holds_no_case_data(client, coordinator, sponsorship):
    """Only generation tokens go to the cache; the page's figures stay in the process."""
    HouseholdMemberFactory(family=sponsorship.family, given_name="Minji")
    client.force_login(coordinator)
    assert "Minji" in _page(client)
    stored = b"".join(cache._cache.values())  # type: ignore[attr-defined]  # locmem: pickles
    assert stored and b"Minji" not in stored
    assert sponsorship.family.case_code.encode() not in stored


def test_a_kept_page_is_counted_afresh_after_the_longest_age(client, coordinator, sponsorship):
    client.force_login(coordinator)
    before = _page(client)
    # A bulk write nobody told (a data fix in a shell): shown once the summary is too old.
    Milestone.objects.filter(pk=_overdue(sponsorship).pk).update(completed_on=timezone.localdate())
    assert _page(client) == before
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=SUMMARY_MAX_AGE + 1)):
        client.force_login(coordinator)
        assert _page(client) != before


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_kept_page_carries_each_request_s_own_csrf_token(coordinator, sponsorship):
    """The whole page is kept; the CSRF token in its forms is the request's own."""
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    for client in (first, second):
        client.force_login(coordinator)
    first.get(reverse("portal:dashboard"))  # renders and keeps the page
    html = second.get(reverse("portal:dashboard")).content.decode()
    assert CSRF_SLOT not in html and sponsorship.family.case_code in html
    assert second.post(reverse("logout"), {"csrfmiddlewaretoken": _csrf(html)}).status_code == 302
    assert second.get(reverse("portal:dashboard")).status_code == 302  # signed out
    assert first.post(reverse("logout"), {"csrfmiddlewaretoken": "x" * 64}).status_code == 403


def test_a_message_shows_once_and_is_not_kept(
    client, coordinator, sponsorship, other_group, case_worker
):
    invitation_token = portal_services.invitation_create(
        email=coordinator.email, group=other_group, role="member", invited_by=case_worker
    )[1]
    client.force_login(coordinator)
    _page(client)
    url = reverse("portal:invitation-accept", args=[invitation_token])
    welcome = client.post(url, follow=True).content.decode()
    assert f"Welcome to {other_group.name}" in welcome
    after = _page(client)
    assert "Welcome to" not in after and _page(client) == after


def test_a_query_string_gets_a_page_of_its_own(client, coordinator, sponsorship):
    client.force_login(coordinator)
    _page(client)
    with_query = client.get(reverse("portal:dashboard") + "?from=email").content.decode()
    assert 'value="/portal/?from=email"' in with_query  # the language switcher comes back here
    assert "?from=email" not in _page(client)
