"""Pledges count only when real: confirmed from the e-mailed link (or paid), else they expire.
Wall entries appear only once staff approve them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from fundraising import selectors, services
from fundraising.models import Pledge
from tests.factories import CampaignFactory, PledgeFactory
from tests.fundraising.test_campaign_page import valid_data

pytestmark = pytest.mark.django_db


def pledge_on_page(client, campaign, **overrides):
    response = client.post(
        reverse("fundraising:campaign", args=[campaign.slug]), valid_data(**overrides)
    )
    assert response.status_code == 302
    return Pledge.objects.latest("pk")


def confirm_link(message) -> str:
    return re.search(r"http://\S+/give/confirm/\S+/", message.body).group(0)


def test_an_unconfirmed_pledge_does_not_move_the_meter(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    before = selectors.campaign_totals(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        pledge = pledge_on_page(
            client, campaign, amount_choice="other", other_amount="100000", show_name="anonymous"
        )
    after = selectors.campaign_totals(campaign)
    assert after.pledged_outstanding == before.pledged_outstanding
    assert after.donors == before.donors
    assert pledge.confirmed_at is None
    assert selectors.pledges_unconfirmed().get() == pledge
    assert (
        "Pledged, not yet received"
        in client.get(reverse("fundraising:campaign", args=[campaign.slug])).content.decode()
    )
    assert "$100,000.00" not in selectors.campaign_totals(campaign).as_json().values()


def test_the_e_mailed_link_confirms_the_pledge_once(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pledge = pledge_on_page(client, campaign, amount_choice="100")
    link = confirm_link(mailoutbox[0])

    asked = client.get(link)  # a mail scanner following the link confirms nothing
    assert asked.status_code == 200 and "Confirm my pledge" in asked.content.decode()
    pledge.refresh_from_db()
    assert pledge.confirmed_at is None

    done = client.post(link)
    assert done.status_code == 200 and "Your pledge is confirmed" in done.content.decode()
    pledge.refresh_from_db()
    assert pledge.confirmed_at is not None
    assert selectors.campaign_totals(campaign).pledged_outstanding == Decimal("100.00")

    confirmed_at = pledge.confirmed_at
    again = client.post(link)
    assert "already confirmed" in again.content.decode()
    pledge.refresh_from_db()
    assert pledge.confirmed_at == confirmed_at


def test_a_link_after_expiry_is_refused_and_the_pledge_expires(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pledge = pledge_on_page(client, campaign)
    link = confirm_link(mailoutbox[0])
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        assert services.pledges_expire_unconfirmed() == 1
        response = client.post(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.EXPIRED and pledge.confirmed_at is None


def test_a_tampered_link_is_refused(client, campaign):
    response = client.post(reverse("fundraising:pledge-confirm", args=["not-a-token"]))
    assert response.status_code == 404


def test_expiry_leaves_young_and_confirmed_pledges_alone(campaign):
    young = PledgeFactory(campaign=campaign, confirmed_at=None)
    confirmed = PledgeFactory(campaign=campaign)
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        assert services.pledges_expire_unconfirmed() == 0
    young.refresh_from_db()
    confirmed.refresh_from_db()
    assert young.status == confirmed.status == Pledge.Status.PLEDGED


def test_a_payment_confirms_a_pledge(campaign):
    pledge = PledgeFactory(campaign=campaign, confirmed_at=None, amount=Decimal("80.00"))
    services.payment_record(
        pledge=pledge, amount=Decimal("80.00"), received_on=timezone.localdate(), method="cash"
    )
    pledge.refresh_from_db()
    assert pledge.confirmed_at is not None and pledge.status == Pledge.Status.FULFILLED


def test_wall_entries_wait_for_staff_approval(
    client, campaign, fundraiser, django_capture_on_commit_callbacks
):
    pledge = PledgeFactory(campaign=campaign, donor_name="Vera Shown", public_message="Hello!")
    page = reverse("fundraising:campaign", args=[campaign.slug])
    assert "Vera Shown" not in client.get(page).content.decode()

    staff = fundraiser
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):  # the cached page is forgotten
        response = client.post(
            reverse("admin:fundraising_pledge_changelist"),
            {"action": "approve_for_wall", "_selected_action": [pledge.pk]},
        )
    assert response.status_code == 302
    pledge.refresh_from_db()
    assert pledge.wall_approved_by == staff
    client.logout()
    html = client.get(page).content.decode()
    assert "Vera Shown" in html and "Hello!" in html


def test_one_wall_entry_is_approved_or_declined_on_its_pledge_page(
    client, campaign, fundraiser, case_worker, django_capture_on_commit_callbacks
):
    pledge = PledgeFactory(campaign=campaign, donor_name="Vera Shown", public_message="Hello!")
    other = PledgeFactory(campaign=campaign, donor_name="Otto Waiting", public_message="Hi")
    page = reverse("fundraising:campaign", args=[campaign.slug])
    change = reverse("admin:fundraising_pledge_change", args=[pledge.pk])
    decide = reverse("admin:fundraising_pledge_wall", args=[pledge.pk])
    waiting = reverse("admin:fundraising_pledge_changelist") + "?wall=review"

    client.force_login(fundraiser)
    html = client.get(change).content.decode()
    # The preview, and two labelled buttons in a form that posts (no link changes anything).
    assert 'aria-labelledby="donor-wall-heading"' in html and "Hello!" in html
    form = re.search(r'<form method="post" action="([^"]+)" class="hv-wall-decision">(.*?)</form>',
                     html, re.S)  # fmt: skip
    assert form and form.group(1) == decide
    assert re.findall(r'<button type="submit" name="decision" value="(\w+)"', form.group(2)) == [
        "approve",
        "decline",
    ]
    assert client.get(decide).status_code == 405  # a link cannot approve
    assert client.post(decide, {"decision": "publish"}).status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(decide, {"decision": "approve"})
    assert approved.status_code == 302 and approved["Location"] == change + "#donor-wall"
    pledge.refresh_from_db()
    assert pledge.wall_approved_by == fundraiser and pledge.wall_declined_at is None
    assert "Vera Shown" in client.get(page).content.decode()
    assert "Otto Waiting" not in client.get(page).content.decode()  # only this entry

    with django_capture_on_commit_callbacks(execute=True):
        client.post(decide, {"decision": "decline"})
    pledge.refresh_from_db()
    assert pledge.wall_approved_at is None and pledge.wall_declined_by == fundraiser
    assert "Vera Shown" not in client.get(page).content.decode()
    listed = client.get(waiting).content.decode()
    assert other.reference in listed and pledge.reference not in listed  # reviewed: not waiting
    assert "Declined by" in client.get(change).content.decode()

    client.force_login(case_worker)
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    pledge.refresh_from_db()
    assert pledge.wall_approved_at is None


def test_a_declined_entry_is_not_approved_automatically(client, mailoutbox, fundraiser):
    campaign = CampaignFactory(auto_approve_wall=True)
    pledge = PledgeFactory(campaign=campaign, confirmed_at=None, public_message="")
    services.pledges_wall_decline(pledges=[pledge], declined_by=fundraiser)
    services.payment_record(
        pledge=pledge, amount=pledge.amount, received_on=timezone.localdate(), method="cash"
    )
    pledge.refresh_from_db()
    assert pledge.confirmed_at is not None and pledge.wall_approved_at is None


def test_an_unconfirmed_pledge_never_reaches_the_wall_even_approved(client, campaign):
    PledgeFactory(
        campaign=campaign,
        donor_name="Una Confirmed",
        confirmed_at=None,
        wall_approved_at=timezone.now(),
    )
    assert selectors.donor_wall(campaign) == []


def test_an_anonymous_gift_shows_no_tribute(campaign):
    PledgeFactory(
        campaign=campaign,
        is_anonymous=True,
        tribute_kind="memory",
        tribute_name="Grandmother Kim",
        wall_approved_at=timezone.now(),
    )
    (entry,) = selectors.donor_wall(campaign)
    assert entry["name"] is None and entry["tribute_name"] == "" and entry["tribute_kind"] == ""


def test_plain_confirmed_gifts_are_approved_automatically_when_staff_allow_it(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(auto_approve_wall=True)
    with django_capture_on_commit_callbacks(execute=True):
        plain = pledge_on_page(client, campaign, public_message="")
        with_message = pledge_on_page(client, campaign, public_message="Hi")
    for message in mailoutbox:
        client.post(confirm_link(message))
    plain.refresh_from_db()
    with_message.refresh_from_db()
    assert plain.wall_approved_at is not None
    assert with_message.wall_approved_at is None
    assert with_message.confirmed_at is not None


def test_the_form_says_what_will_be_public(client, campaign):
    html = client.get(reverse("fundraising:campaign", args=[campaign.slug])).content.decode()
    assert "Never public: the amount, your e-mail and your address." in html
    assert "Not shown if you give anonymously" in html


def test_staff_see_unconfirmed_pledges_apart(client, campaign, fundraiser):
    PledgeFactory(campaign=campaign, reference="HV-WAIT-2222", confirmed_at=None)
    PledgeFactory(campaign=campaign, reference="HV-REAL-3333")
    client.force_login(fundraiser)
    html = client.get(reverse("admin:fundraising_pledge_changelist") + "?confirmed=no")
    text = html.content.decode()
    assert "HV-WAIT-2222" in text and "HV-REAL-3333" not in text
