"""The admin's index page: the program dashboard, per role, with links and constant queries."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.dashboard import LIST_ROWS, TIMELINE_ROWS
from core.dates import shown
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from core.summaries import SUMMARY_MAX_AGE
from families.models import Family
from fundraising import services as fundraising_services
from fundraising.models import Payment, Receipt
from fundraising.selectors import money_figures_changed
from sponsorship import services
from sponsorship.models import CheckIn, Milestone, Reminder, Review, Sponsorship
from sponsorship.selectors import groups_at_risk
from tests.config.bulk import build_program
from tests.factories import CampaignFactory, PledgeFactory, StaffFactory

pytestmark = pytest.mark.django_db
INDEX = "/admin/"


def _staff(role: str):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=role).user_set.get(email__endswith="demo.hanvoice.test")


@pytest.fixture
def seeded(demo_pilot, db):
    """The demo pilot, built once for the module (tests/conftest.py)."""
    return demo_pilot


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


def _sql(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("role", [PROGRAM_MANAGER, CASE_WORKER, FUNDRAISING])
def test_its_query_count_does_not_grow_with_the_number_of_families(client, role):
    """At 5 and at 500 families: the same queries to build the case panels' summary (cache
    empty), the same fewer ones to read it (cache filled), and none of those reads scans the
    plans, reviews or payments of the program."""
    user = StaffFactory(roles=[role])
    today = timezone.localdate()
    with time_machine.travel(today, tick=False):
        build_program(5, today=today, user=user, prefix="NK-2024")
        client.force_login(user)
        client.get(INDEX)  # the session, as under load
        cache.clear()
        cold_small = len(_sql(client, INDEX))
        warm_small = _sql(client, INDEX)
        # bulk_create writes no signals: the test drops the summary the way a change would.
        build_program(495, today=today, user=user, prefix="NK-2025")
        assert Family.objects.count() == 500
        cache.clear()
        assert len(_sql(client, INDEX)) == cold_small
        warm_large = _sql(client, INDEX)
    assert len(warm_large) == len(warm_small)
    assert len(warm_small) < cold_small  # the case panels and the money panels are kept
    for table in (
        "sponsorship_milestone",
        "sponsorship_review",
        "sponsorship_disbursement",
        "fundraising_pledge",
        "fundraising_payment",
    ):
        assert not any(table in sql for sql in warm_large), table


def _status_count(html: str, status: str) -> str:
    match = re.search(rf'status__exact={status}">(\d+)</a>', html)
    assert match, status
    return match.group(1)


def test_its_figures_change_as_soon_as_a_counted_row_changes(
    client, program_manager, django_capture_on_commit_callbacks
):
    """The summary is kept, but never past a change: exact figures on the next page."""
    today = timezone.localdate()
    build_program(3, today=today, user=program_manager)
    before = _page(client, program_manager)
    assert _status_count(before, "arrived") == "3"
    assert "Nothing is overdue." not in before
    with django_capture_on_commit_callbacks(execute=True):
        family = Family.objects.create(
            case_code="NK-2026-0999", status=Family.Status.ARRIVED, vetted_on=today
        )
    assert _status_count(_page(client, program_manager), "arrived") == "4"
    # A change that is not committed yet (the test's transaction) also drops it at once.
    family.delete()
    assert _status_count(_page(client, program_manager), "arrived") == "3"
    Milestone.objects.filter(completed_on__isnull=True).update(completed_on=today)
    Review.objects.filter(held_on__isnull=True).update(held_on=today, outcome="on_track")
    # A bulk UPDATE bypasses the signals: the page shows the summary until it expires.
    assert "Nothing is overdue." not in _page(client, program_manager)
    with time_machine.travel(timezone.now() + timedelta(seconds=SUMMARY_MAX_AGE + 1)):
        assert "Nothing is overdue." in _page(client, program_manager)


def _money_figures(html: str) -> tuple[str, str]:
    unpaid = re.search(r"(\d+) pledges? not yet fully received", html)
    not_receipted = re.search(r"(\d+) gifts? not yet receipted", html)
    assert unpaid and not_receipted
    return unpaid.group(1), not_receipted.group(1)


def test_its_money_figures_change_as_soon_as_a_pledge_payment_or_receipt_does(
    client, program_manager, django_capture_on_commit_callbacks
):
    """The money panels are kept too, and dropped by every change to what they count."""
    campaign = CampaignFactory()
    PledgeFactory(campaign=campaign)  # confirmed, unpaid
    assert _money_figures(_page(client, program_manager)) == ("1", "0")
    with django_capture_on_commit_callbacks(execute=True):
        pledge = fundraising_services.pledge_create(
            campaign=campaign,
            donor_name="Ann Donor",
            email="ann@example.org",
            amount=Decimal("40.00"),
            address="1 Example Street\nToronto ON M5V 1A1",
        )
    assert _money_figures(_page(client, program_manager)) == ("1", "0")  # not confirmed yet
    with django_capture_on_commit_callbacks(execute=True):
        fundraising_services.pledge_confirm(token=fundraising_services.pledge_confirm_token(pledge))
    assert _money_figures(_page(client, program_manager)) == ("2", "0")
    with django_capture_on_commit_callbacks(execute=True):
        payment = fundraising_services.payment_record(
            pledge=pledge,
            amount=Decimal("40.00"),
            received_on=timezone.localdate(),
            method="etransfer",
        )
    assert _money_figures(_page(client, program_manager)) == ("1", "1")
    with django_capture_on_commit_callbacks(execute=True):
        fundraising_services.receipt_issue(payment=payment)
    assert _money_figures(_page(client, program_manager)) == ("1", "0")
    # A bulk UPDATE (a dispute recorded from Stripe) calls the same function the signals do.
    Payment.objects.filter(pk=payment.pk).update(disputed_at=timezone.now())
    Receipt.objects.update(cancelled_at=timezone.now())
    assert _money_figures(_page(client, program_manager)) == ("1", "0")  # kept
    money_figures_changed()
    assert _money_figures(_page(client, program_manager)) == ("1", "0")  # disputed: waits
    Payment.objects.filter(pk=payment.pk).update(disputed_at=None)
    money_figures_changed()
    assert _money_figures(_page(client, program_manager)) == ("1", "1")


def test_it_lists_at_most_ten_groups_at_risk_and_says_how_many(client, program_manager):
    today = timezone.localdate()
    for i in range(LIST_ROWS):  # three groups each, two of them at risk
        build_program(3, today=today, user=program_manager, prefix=f"NK-20{10 + i}")
    flagged = len(groups_at_risk(today))
    assert flagged > LIST_ROWS
    html = _page(client, program_manager)
    risk = html.split("Sponsor groups at risk", 1)[1].split("Reminders that failed", 1)[0]
    assert risk.count("<li>") == LIST_ROWS
    assert f"{flagged} in all." in risk


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
    assert f"Month 13: {shown(s.month_13_on)}" in html  # dates as every page shows them
    assert f"{s.family.case_code}: {shown(s.arrival_date)} to {shown(s.support_ends_on)}" in html
    assert f"Month 13: {s.month_13_on.isoformat()}" not in html
    assert "stroke-dasharray" in html  # the extension is drawn differently from the 12 months


def test_the_list_of_models_is_kept_per_role_and_follows_a_change_of_role(client):
    """The index's list of models is rendered once per set of permissions and roles (and
    language): a second account with the same roles gets the same list, and a role added to
    an account shows its models on the next page."""
    from django.contrib.auth.models import Group

    fundraiser = StaffFactory(roles=[FUNDRAISING])
    html = _page(client, fundraiser)
    assert 'class="app-fundraising' in html and 'class="app-families' not in html
    fundraiser.groups.add(Group.objects.get(name=CASE_WORKER))
    html = _page(client, fundraiser)
    assert 'class="app-fundraising' in html and 'class="app-families' in html
    case_worker = StaffFactory(roles=[CASE_WORKER])
    html = _page(client, case_worker)
    assert 'class="app-families' in html and 'class="app-fundraising' not in html


def test_the_kept_list_of_models_follows_the_rows_an_add_permission_reads(client):
    """Receipt branding can be added only while there is none: the kept list of models
    shows its "Add" link until one exists, and not after."""
    from fundraising.models import ReceiptBranding

    manager = StaffFactory(roles=[PROGRAM_MANAGER])
    add = reverse("admin:fundraising_receiptbranding_add")
    assert f'href="{add}"' in _page(client, manager)
    ReceiptBranding.objects.create()
    assert f'href="{add}"' not in _page(client, manager)


def test_the_case_panels_keep_no_case_code_in_the_cache(client, seeded):
    """The timeline names case codes: the rendered panels are kept in the process's memory,
    the cache holds only generation tokens and the money figures (docs/performance.md)."""
    cache.clear()
    html = _page(client, _staff(PROGRAM_MANAGER))
    codes = list(Family.objects.filter(status="arrived").values_list("case_code", flat=True))
    assert codes and all(code in html for code in codes)
    kept = b"".join(cache._cache.values())  # locmem: the pickled values
    for code in codes:
        assert code.encode() not in kept, code


def test_the_money_chart_names_its_months_in_korean_without_reading_as_a_day(client, seeded):
    """In Korean "12월 25" reads as 25 December: the axis says "25년 12월" (December 2025)."""
    client.cookies["django_language"] = "ko"
    html = _page(client, _staff(FUNDRAISING))
    today = timezone.localdate()
    assert f"{today:%y}년 {today.month}월" in html
    assert f"{today.month}월 {today:%y}<" not in html
