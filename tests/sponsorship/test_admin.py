"""The staff admin with the demo data: pages per role, privacy, access log, actions, queries."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from families.models import CaseFileAccess, Family
from sponsorship.models import Extension, Milestone, SponsorGroup, Sponsorship
from tests.factories import FamilyFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_pilot, db):
    return {f.status: f for f in Family.objects.all()}


def _pages() -> list[str]:
    family = Family.objects.get(
        status="arrived",
        sponsorships__arrival_date__lt=timezone.localdate() - datetime.timedelta(days=200),
    )
    s = Sponsorship.objects.get(family=family)
    return [
        reverse("admin:index"),
        reverse("admin:families_family_changelist"),
        reverse("admin:families_family_change", args=[family.pk]),
        reverse("admin:families_family_history", args=[family.pk]),
        reverse("admin:sponsorship_sponsorship_changelist"),
        reverse("admin:sponsorship_sponsorship_change", args=[s.pk]),
        reverse("admin:sponsorship_sponsorgroup_changelist"),
        reverse("admin:sponsorship_sponsorgroup_change", args=[s.group_id]),
        reverse("admin:sponsorship_extension_changelist"),
        reverse("admin:sponsorship_milestone_changelist"),
        reverse("admin:sponsorship_milestonetemplate_changelist"),
        reverse("admin:sponsorship_reviewtemplate_changelist"),
        reverse("admin:sponsorship_costtableentry_changelist"),
    ]


@pytest.mark.parametrize("role", [PROGRAM_MANAGER, CASE_WORKER])
def test_case_management_staff_open_every_page(client, seeded, role):
    user = Group.objects.get(name=role).user_set.get(email__endswith="demo.hanvoice.test")
    client.force_login(user)
    for url in _pages():
        response = client.get(url)
        assert response.status_code == 200, url


def test_fundraising_staff_cannot_open_families_or_sponsorships(client, seeded):
    client.force_login(Group.objects.get(name=FUNDRAISING).user_set.get())
    assert client.get(reverse("admin:index")).status_code == 200
    for url in _pages()[1:]:
        assert client.get(url).status_code == 403, url
    assert not CaseFileAccess.objects.exists()


@pytest.mark.parametrize("who", ["plain_user", "member"])
def test_non_staff_are_sent_to_sign_in(client, seeded, request, who):
    client.force_login(request.getfixturevalue(who))
    for url in _pages()[:3]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_role_permissions_follow_the_access_table(case_worker, fundraiser, program_manager):
    assert case_worker.has_perm("families.view_family")
    assert case_worker.has_perm("sponsorship.change_sponsorship")
    assert not case_worker.has_perm("sponsorship.delete_sponsorship")
    assert not fundraiser.has_perm("families.view_family")
    assert not fundraiser.has_perm("sponsorship.view_sponsorship")
    assert program_manager.has_perm("sponsorship.delete_extension")


def test_the_family_list_shows_no_names_and_the_change_page_is_logged(client, seeded):
    cw = Group.objects.get(name=CASE_WORKER).user_set.get()
    client.force_login(cw)
    listing = client.get(reverse("admin:families_family_changelist")).content.decode()
    assert "NK-" in listing
    assert "Kimdemo" not in listing and "Handemo" not in listing
    assert "month 11 of 12" in listing and "month 4 of 12" in listing
    family = Family.objects.get(status="referred")
    page = client.get(reverse("admin:families_family_change", args=[family.pk])).content.decode()
    assert "Testa" in page and "Kimdemo" in page
    listed = CaseFileAccess.objects.filter(action="list", user=cw)
    assert family in {a.family for a in listed}  # the list is a view of each file it shows
    access = CaseFileAccess.objects.get(action="view")
    assert (access.family, access.user, access.action) == (family, cw, "view")
    assert access.page == reverse("admin:families_family_change", args=[family.pk])


def test_program_managers_see_who_viewed_the_file(client, seeded):
    cw = Group.objects.get(name=CASE_WORKER).user_set.get()
    pm = Group.objects.get(name=PROGRAM_MANAGER).user_set.get()
    family = Family.objects.get(status="referred")
    url = reverse("admin:families_family_change", args=[family.pk])
    client.force_login(cw)
    assert "Who viewed this file" not in client.get(url).content.decode()
    assert client.get(reverse("admin:families_casefileaccess_changelist")).status_code == 403
    client.force_login(pm)
    page = client.get(url).content.decode()
    assert "Who viewed this file" in page and "Casey Workerdemo" in page
    log = client.get(reverse("admin:families_casefileaccess_changelist"), {"q": family.case_code})
    assert log.status_code == 200 and "caseworker@demo" in log.content.decode()


def _changelist_queries(client, name: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(name)).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "name", ["admin:families_family_changelist", "admin:sponsorship_sponsorship_changelist"]
)
def test_changelist_queries_do_not_grow_with_families(client, case_worker, name):
    def add(n):
        for i in range(n):
            arrival = timezone.localdate() - datetime.timedelta(days=30 + i)
            SponsorshipFactory(arrival_date=arrival, matched_on=arrival)

    client.force_login(case_worker)
    add(5)
    small = _changelist_queries(client, name)
    add(45)
    assert _changelist_queries(client, name) == small
    assert small < 15


def test_match_action_uses_an_intermediate_form(client, program_manager):
    family = FamilyFactory(
        status="approved", vetted_on=datetime.date(2026, 1, 2), ircc_reference="IRCC-9"
    )
    group = SponsorGroup.objects.create(
        name="Demo Action Circle",
        kind="constituent",
        community="Ottawa",
        status="approved",
        settlement_plan_approved_on=datetime.date(2026, 1, 1),
    )
    client.force_login(program_manager)
    url = reverse("admin:families_family_changelist")
    form = client.post(url, {"action": "match", "_selected_action": [family.pk]})
    assert form.status_code == 200 and "Match with a sponsor group" in form.content.decode()
    done = client.post(
        url,
        {
            "action": "match",
            "_selected_action": [family.pk],
            "apply": "1",
            "group": group.pk,
            "kind": "psr",
            "matched_on": timezone.localdate().isoformat(),
        },
    )
    assert done.status_code == 302
    family.refresh_from_db()
    assert family.status == "matched"
    assert Sponsorship.objects.get(family=family).group == group


def test_record_arrival_refuses_a_future_date_and_says_why(client, case_worker):
    s = SponsorshipFactory(
        matched_on=timezone.localdate() - datetime.timedelta(days=3),
        family__case_worker=case_worker,
    )
    client.force_login(case_worker)
    url = reverse("admin:sponsorship_sponsorship_changelist")
    response = client.post(
        url,
        {
            "action": "record_arrival",
            "_selected_action": [s.pk],
            "apply": "1",
            "arrival_date": (timezone.localdate() + datetime.timedelta(days=365)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    s.refresh_from_db()
    assert s.arrival_date is None
    response = client.post(
        url,
        {
            "action": "record_arrival",
            "_selected_action": [s.pk],
            "apply": "1",
            "arrival_date": timezone.localdate().isoformat(),
        },
        follow=True,
    )
    s.refresh_from_db()
    assert s.arrival_date == timezone.localdate() and s.milestones.exists()


def test_only_program_managers_approve_extensions_in_the_admin(client, seeded):
    ext = Extension.objects.get()
    url = reverse("admin:sponsorship_extension_changelist")
    payload = {"action": "approve_extension", "_selected_action": [ext.pk], "apply": "1"}
    client.force_login(Group.objects.get(name=CASE_WORKER).user_set.get())
    response = client.post(url, payload, follow=True)
    assert "Only a program manager" in response.content.decode()
    ext.refresh_from_db()
    assert ext.status == "requested"
    client.force_login(Group.objects.get(name=PROGRAM_MANAGER).user_set.get())
    client.post(url, payload)
    ext.refresh_from_db()
    assert ext.status == "approved"


def test_the_disbursement_inline_refuses_a_month_outside_the_period(
    client, sponsorship, case_worker
):
    client.force_login(case_worker)
    url = reverse("admin:sponsorship_sponsorship_change", args=[sponsorship.pk])
    page = client.get(url)
    data = {}
    for formset in page.context["inline_admin_formsets"]:
        mgmt = formset.formset.management_form
        for field in mgmt:
            data[field.html_name] = field.value()
        for form in formset.formset.forms:
            for field in form:
                value = field.value()
                if value is not None:
                    data[field.html_name] = value
    prefix = "disbursements"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-kind": "income",
            f"{prefix}-0-month_number": "13",
            f"{prefix}-0-amount": "100",
            f"{prefix}-0-paid_on": timezone.localdate().isoformat(),
            f"{prefix}-0-method": "cash",
            "kind": "psr",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "outside the support period" in response.content.decode()
    assert not sponsorship.disbursements.exists()


def test_waiving_a_requested_milestone_from_the_admin(client, sponsorship, case_worker):
    milestone = sponsorship.milestones.first()
    Milestone.objects.filter(pk=milestone.pk).update(
        waiver_requested_on=timezone.localdate(), waiver_reason="No school-age children"
    )
    client.force_login(case_worker)
    client.post(
        reverse("admin:sponsorship_milestone_changelist"),
        {"action": "waive", "_selected_action": [milestone.pk], "apply": "1", "reason": ""},
    )
    milestone.refresh_from_db()
    assert milestone.waived_on == timezone.localdate()
    assert milestone.waiver_reason == "No school-age children"


def test_viewing_a_sponsorship_page_is_logged_against_its_family(client, case_worker, sponsorship):

    client.force_login(case_worker)
    response = client.get(f"/admin/sponsorship/sponsorship/{sponsorship.pk}/change/")
    assert response.status_code == 200
    access = CaseFileAccess.objects.get(family=sponsorship.family)
    assert access.user == case_worker
    assert access.action == CaseFileAccess.Action.VIEW
    assert access.page == f"/admin/sponsorship/sponsorship/{sponsorship.pk}/change/"
