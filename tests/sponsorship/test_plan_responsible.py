"""Plan items name their area and the group member responsible: set by the coordinator in
the portal (service, write-once token, error next to the field) or by staff in the admin."""

from __future__ import annotations

import datetime
import importlib
import uuid

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import reverse

from sponsorship import portal_services
from sponsorship.models import Membership, Milestone, MilestoneTemplate, PlanArea

pytestmark = pytest.mark.django_db


def _item(sponsorship, title="Permanent housing") -> Milestone:
    return sponsorship.milestones.get(title=title)


def _named(user, first: str, last: str):
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def test_the_plan_takes_each_items_area_from_its_template(sponsorship):
    assert _item(sponsorship).area == PlanArea.HOUSING
    income = _item(sponsorship, "Start-up funds and month-1 income support given")
    assert income.area == PlanArea.INCOME_SUPPORT
    for item in sponsorship.milestones.select_related("template"):
        assert item.area == item.template.area


def test_the_migration_keeps_every_item_in_the_section_its_title_placed_it():
    migration = importlib.import_module("sponsorship.migrations.0014_plan_area_responsible")
    assert migration._area("Airport reception, temporary housing") == "reception"
    assert migration._area("Settlement agency referral; family doctor found") == "health"
    assert migration._area("Canada Child Benefit applied for") == "orientation"
    assert migration._area("Winter tires") == "other"
    # The seeded catalogue went through it: nothing is left unplaced that had a section.
    assert MilestoneTemplate.objects.get(title="Permanent housing").area == "housing"


def test_a_coordinator_names_a_member_through_the_service(sponsorship, coordinator, member):
    item = portal_services.milestone_set_responsible(
        milestone=_item(sponsorship), responsible=member
    )
    item.refresh_from_db()
    assert item.responsible == member and item.responsible_is_member
    portal_services.milestone_set_responsible(milestone=item, responsible=None)
    item.refresh_from_db()
    assert item.responsible is None


def test_another_groups_member_is_refused_and_nothing_is_stored(sponsorship, other_member):
    item = _item(sponsorship)
    with pytest.raises(ValidationError) as caught:
        portal_services.milestone_set_responsible(milestone=item, responsible=other_member)
    assert "responsible" in caught.value.error_dict
    item.refresh_from_db()
    assert item.responsible is None
    # The model says the same whoever saves (the admin's form calls clean()).
    item.responsible = other_member
    with pytest.raises(ValidationError, match="member of this sponsor group"):
        item.full_clean()


def test_a_member_who_leaves_stays_named_as_a_former_member(
    client, sponsorship, member, coordinator
):
    item = portal_services.milestone_set_responsible(
        milestone=_item(sponsorship), responsible=_named(member, "Bob", "Barker")
    )
    Membership.objects.filter(user=member).delete()
    item = Milestone.objects.get(pk=item.pk)
    assert item.responsible == member and not item.responsible_is_member
    item.full_clean()  # still valid: named when they were a member
    item.save()
    client.force_login(coordinator)
    page = client.get(reverse("portal:plan", args=[sponsorship.public_id])).content.decode()
    assert "Responsible: Bob Barker (former member)" in page
    page = client.get(reverse("portal:milestone", args=[item.public_id])).content.decode()
    assert "Bob Barker (former member)" in page  # offered as the current value, not lost


def _post(client, item, value, token=None):
    url = reverse("portal:milestone-responsible", args=[item.public_id])
    return client.post(url, {"responsible": value, "request_token": token or uuid.uuid4()})


def test_the_coordinator_sets_the_responsible_member_in_the_portal_once(
    client, sponsorship, coordinator, treasurer
):
    item = _item(sponsorship)
    client.force_login(coordinator)
    token = uuid.uuid4()
    response = _post(client, item, treasurer.pk, token)
    assert response.status_code == 302 and "?form=" in response["Location"]
    item.refresh_from_db()
    assert item.responsible == treasurer
    # Back + Save again with the same token, after someone else was named: nothing written.
    portal_services.milestone_set_responsible(milestone=item, responsible=coordinator)
    again = _post(client, item, treasurer.pk, token)
    assert again.status_code == 302
    item.refresh_from_db()
    assert item.responsible == coordinator
    page = client.get(again["Location"]).content.decode()
    assert "nothing was added twice" in page


@pytest.mark.parametrize("value", ["other_member", "made_up"])
def test_another_groups_member_or_a_made_up_id_is_refused_at_the_field(
    client, sponsorship, coordinator, other_member, value
):
    item = _item(sponsorship)
    client.force_login(coordinator)
    response = _post(client, item, other_member.pk if value == "other_member" else 987654)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary' in page and 'href="#id_responsible"' in page
    assert "Select a valid choice" in page
    item.refresh_from_db()
    assert item.responsible is None


def test_only_the_coordinator_names_and_outsiders_get_404(
    client, sponsorship, treasurer, member, other_member
):
    item = _item(sponsorship)
    for user, status in ((treasurer, 403), (member, 403), (other_member, 404)):
        client.force_login(user)
        assert _post(client, item, member.pk).status_code == status
    item.refresh_from_db()
    assert item.responsible is None
    client.force_login(member)
    page = client.get(reverse("portal:milestone", args=[item.public_id])).content.decode()
    assert 'id="id_responsible"' not in page


def test_members_see_who_is_responsible_on_the_plan(client, sponsorship, member, treasurer):
    item = _item(sponsorship)
    portal_services.milestone_set_responsible(
        milestone=item, responsible=_named(treasurer, "Tess", "Trent")
    )
    client.force_login(member)
    page = client.get(reverse("portal:plan", args=[sponsorship.public_id])).content.decode()
    assert "Responsible: Tess Trent" in page
    assert "Responsible: no one named yet" in page  # the other items


def test_a_group_item_is_added_under_the_area_chosen(client, sponsorship, coordinator):
    client.force_login(coordinator)
    due = (sponsorship.arrival_date + datetime.timedelta(days=120)).isoformat()
    url = reverse("portal:milestone-add", args=[sponsorship.public_id])
    response = client.post(url, {"title": "Driving lessons", "due_on": due, "area": "employment"})
    assert response.status_code == 302
    assert sponsorship.milestones.get(title="Driving lessons").area == PlanArea.EMPLOYMENT


def _add(client, sponsorship, **data):
    due = (sponsorship.arrival_date + datetime.timedelta(days=120)).isoformat()
    url = reverse("portal:milestone-add", args=[sponsorship.public_id])
    return client.post(url, {"title": "Driving lessons", "due_on": due, **data})


def test_the_coordinator_names_the_responsible_member_when_adding_an_item(
    client, sponsorship, coordinator, member, other_member
):
    client.force_login(coordinator)
    page = client.get(reverse("portal:milestone-add", args=[sponsorship.public_id]))
    assert 'name="responsible"' in page.content.decode()
    # Another group's member (a coordinator elsewhere) is refused next to the field.
    response = _add(client, sponsorship, responsible=other_member.pk)
    assert response.status_code == 200
    assert response.context["form"].errors["responsible"]
    assert not sponsorship.milestones.filter(title="Driving lessons").exists()
    response = _add(client, sponsorship, responsible=member.pk)
    assert response.status_code == 302
    assert sponsorship.milestones.get(title="Driving lessons").responsible == member


def test_a_treasurer_adds_items_without_naming_anyone(client, sponsorship, treasurer, member):
    client.force_login(treasurer)
    page = client.get(reverse("portal:milestone-add", args=[sponsorship.public_id]))
    assert 'name="responsible"' not in page.content.decode()
    response = _add(client, sponsorship, responsible=member.pk)  # not offered: ignored
    assert response.status_code == 302
    assert sponsorship.milestones.get(title="Driving lessons").responsible is None


def test_the_service_adds_an_item_only_with_a_member_of_the_group(
    sponsorship, coordinator, other_member
):
    due = sponsorship.arrival_date + datetime.timedelta(days=60)
    with pytest.raises(ValidationError) as refused:
        portal_services.milestone_add_group_item(
            sponsorship=sponsorship,
            user=coordinator,
            title="Bike",
            due_on=due,
            responsible=other_member,
        )
    assert "responsible" in refused.value.message_dict
    assert not sponsorship.milestones.filter(title="Bike").exists()
    item = portal_services.milestone_add_group_item(
        sponsorship=sponsorship, user=coordinator, title="Bike", due_on=due, responsible=coordinator
    )
    assert item.responsible == coordinator


def test_staff_name_the_responsible_member_in_the_admin(
    sponsorship, program_manager, member, other_member
):
    item = _item(sponsorship)
    request = RequestFactory().get("/admin/")
    request.user = program_manager
    model_admin = site._registry[Milestone]
    form_class = model_admin.get_form(request, item, change=True)
    # Offered: the group's members only.
    assert list(form_class.base_fields["responsible"].queryset) == [member]
    data = {**model_to_dict(item, fields=form_class.base_fields), "responsible": member.pk}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    form = form_class(data, instance=item)
    assert form.is_valid(), form.errors
    form.save()
    item.refresh_from_db()
    assert item.responsible == member
    form = form_class({**data, "responsible": other_member.pk}, instance=item)
    assert not form.is_valid() and "responsible" in form.errors
    item.refresh_from_db()
    assert item.responsible == member
