"""The admin's index page: the program dashboard, per role, with links and constant queries."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.dashboard import TIMELINE_ROWS
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from families.models import Family
from fundraising import demo as fundraising_demo
from sponsorship import demo, services
from sponsorship.models import CheckIn, Milestone, Reminder, Sponsorship
from tests.config.bulk import build_program
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
INDEX = "/admin/"


def _staff(role: str):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=role).user_set.get(email__endswith="demo.hanvoice.test")


@pytest.fixture
def seeded():
    demo.seed()
    fundraising_demo.seed()


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get(INDEX)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_a_program_manager_every_panel(client, seeded):
    html = _page(client, _staff(PROGRAM_MANAGER))
    assert html.count("<h1") == 1
    for text in (
        "Families by status",
        "Sponsorships over time",
        "Overdue milestones and reviews by sponsor group",
        "Sponsor groups at risk",
        "Reminders that failed",
        "Money received per month",
        "North to North: received and pledged against the goal",
        "Program report",
        "Fundraising report",
    ):
        assert text in html, text
    arrived = Family.objects.filter(status="arrived").values_list("case_code", flat=True)
    for code in arrived:
        assert code in html  # a row of the timeline each
    assert 'role="img"' in html
    assert "Kimdemo" not in html and "Bangkok" not in html  # never a name or a location


def test_it_shows_a_case_worker_no_money(client, seeded):
    html = _page(client, _staff(CASE_WORKER))
    assert "Families by status" in html
    assert "Program report" in html and "Group monitoring report" in html
    for absent in ("Money received per month", "Campaign", "North to North", "pledge", "$"):
        assert absent not in html, absent
    assert "/admin/reports/fundraising/" not in html


def test_it_shows_fundraising_staff_no_family_data(client, seeded):
    html = _page(client, _staff(FUNDRAISING))
    assert "Money received per month" in html and "Fundraising report" in html
    for absent in (
        "Families by status",
        "Sponsorships over time",
        "Sponsor groups at risk",
        "Reminders that failed",
        "NK-",
        "Maplewood",
        "Harbourside",
        "Program report",
        "/admin/families/",
    ):
        assert absent not in html, absent


def test_it_sends_outsiders_to_the_sign_in_page(client, plain_user, member):
    assert client.get(INDEX).status_code == 302
    for user in (plain_user, member):
        client.force_login(user)
        response = client.get(INDEX)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_each_figure_links_to_the_filtered_list_behind_it(client, seeded):
    manager = _staff(PROGRAM_MANAGER)
    html = _page(client, manager)
    arrived = Family.objects.filter(status="arrived").count()
    assert f'href="/admin/families/family/?status__exact=arrived">{arrived}</a>' in html

    overdue = Milestone.objects.overdue().filter(sponsorship__outcome="active")
    group = overdue.first().sponsorship.group
    link = f"/admin/sponsorship/milestone/?sponsorship__group__id__exact={group.pk}&amp;due=overdue"
    assert link in html
    response = client.get(unquote(link.replace("&amp;", "&")))
    assert response.status_code == 200
    shown = response.context["cl"].result_count
    assert shown == overdue.filter(sponsorship__group=group).count() > 0

    assert 'href="/admin/sponsorship/reminder/?failed_at__isnull=False"' in html
    assert "/admin/fundraising/pledge/?paid=open" in html
    assert "/admin/fundraising/payment/?receipted=no" in html
    s = Sponsorship.objects.filter(arrival_date__isnull=False).first()
    assert reverse("admin:sponsorship_sponsorship_change", args=[s.pk]) in html


def test_it_lists_failed_reminders_and_unacknowledged_urgent_concerns(client, seeded):
    manager = _staff(PROGRAM_MANAGER)
    s = Sponsorship.objects.filter(arrival_date__isnull=False).first()
    Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_OVERDUE,
        subject_key="milestone:1",
        due_on=timezone.localdate(),
        recipient=manager,
        sponsorship=s,
        failed_at=timezone.now(),
        attempts=5,
        last_error="SMTP refused",
    )
    CheckIn.objects.create(
        sponsorship=s,
        happened_on=timezone.localdate(),
        who="Cora",
        wellbeing=CheckIn.Wellbeing.STRUGGLING,
        concern_level=CheckIn.Concern.URGENT,
        concern="Fictional urgent concern.",
        logged_by=manager,
    )
    html = _page(client, manager)
    assert "1 reminder could not be delivered." in html
    assert "Milestone overdue · " + s.family.case_code in html
    assert "Urgent concerns not yet acknowledged" in html
    assert "Fictional urgent concern" not in html  # the concern itself stays in the case file
    assert f"{s.family.case_code}</a> · {s.group.name}" in html


def test_an_empty_program_shows_sentences_not_errors(client, program_manager):
    html = _page(client, program_manager)
    assert "No family has arrived yet" in html
    assert "Nothing is overdue." in html
    assert "No active campaign." in html


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", [PROGRAM_MANAGER, CASE_WORKER, FUNDRAISING])
def test_its_query_count_does_not_grow_with_the_number_of_families(
    client, role, django_assert_max_num_queries
):

    user = StaffFactory(roles=[role])
    today = timezone.localdate()
    with time_machine.travel(today, tick=False):
        build_program(5, today=today, user=user, prefix="NK-2024")
        client.force_login(user)
        small = _queries(client, INDEX)
        build_program(495, today=today, user=user, prefix="NK-2025")
        assert Family.objects.count() == 500
        large = _queries(client, INDEX)
        assert large == small
        with django_assert_max_num_queries(small):
            client.get(INDEX)


def test_the_timeline_shows_the_most_urgent_rows_when_there_are_many(client, program_manager):

    today = timezone.localdate()
    build_program(TIMELINE_ROWS + 5, today=today, user=program_manager)
    html = _page(client, program_manager)
    assert f"The {TIMELINE_ROWS} most urgent of {TIMELINE_ROWS + 5} are shown." in html


def test_the_timeline_marks_an_approved_extension_and_month_13(client, seeded):

    s = Sponsorship.objects.get(extensions__isnull=False)
    services.extension_approve(extension=s.extensions.get(), approved_by=_staff(PROGRAM_MANAGER))
    s = Sponsorship.objects.with_period().get(pk=s.pk)
    assert s.extension_months == 6
    html = _page(client, _staff(PROGRAM_MANAGER))
    assert f"Month 13: {s.month_13_on}" in html
    assert (
        f"{s.family.case_code}: {s.arrival_date:%Y-%m-%d} to {s.support_ends_on:%Y-%m-%d}" in html
    )
    assert "stroke-dasharray" in html  # the extension is drawn differently from the 12 months
