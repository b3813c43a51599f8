"""Donor self-service: a single-use, short-lived, rate-limited sign-in link by e-mail, then the
donor's own pledges, payments and receipts; address, pause, stop, export, erase."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fundraising import services
from fundraising.models import DonorEmail, DonorLink, Pledge
from tests.factories import MonthlyPledgeFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db
START = "/give/donor/"


def ask(client, email: str, capture):
    with capture(execute=True):
        return client.post(START, {"email": email})


def link_from(message) -> str:
    return re.search(r"http://\S+/give/donor/link/\S+/", message.body).group(0)


def signed_in(client, email, capture, mailoutbox):
    ask(client, email, capture)
    client.post(link_from(mailoutbox[-1]))
    return client


def test_known_and_unknown_addresses_get_the_same_answer(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    PledgeFactory(campaign=campaign, email="ada@example.org")
    known = ask(client, "ada@example.org", django_capture_on_commit_callbacks)
    unknown = ask(client, "nobody@example.org", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'value="[^"]+"', "", html)  # noqa: E731 - CSRF tokens differ
    assert strip(known.content.decode()) == strip(unknown.content.decode())
    assert [m.to for m in mailoutbox] == [["ada@example.org"]]
    assert DonorLink.objects.count() == 2  # the same work for both
    assert DonorEmail.objects.filter(kind="donor-sign-in").count() == 1


def test_the_link_is_single_use_and_short_lived(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    PledgeFactory(campaign=campaign, email="ada@example.org", reference="HV-ADAS-2222")
    ask(client, "ada@example.org", django_capture_on_commit_callbacks)
    link = link_from(mailoutbox[0])
    assert client.get(link).status_code == 200  # a mail scanner's visit uses nothing
    response = client.post(link)
    assert response.status_code == 302
    assert "HV-ADAS-2222" in client.get(reverse("fundraising:donor-home")).content.decode()
    other = client.__class__()
    assert other.post(link).status_code == 410  # used

    ask(client, "ada@example.org", django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        assert other.post(link_from(mailoutbox[-1])).status_code == 410  # expired


@override_settings(FUNDRAISING_DONOR_LINK_RATE="2/h")
def test_link_requests_are_rate_limited(client, campaign, django_capture_on_commit_callbacks):
    for _ in range(2):
        assert ask(client, "x@example.org", django_capture_on_commit_callbacks).status_code == 200
    assert ask(client, "x@example.org", django_capture_on_commit_callbacks).status_code == 429


def test_a_donor_sees_only_their_own_gifts(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    mine = PledgeFactory(campaign=campaign, email="ada@example.org", reference="HV-MINE-2222")
    theirs = PledgeFactory(campaign=campaign, email="bob@example.org", reference="HV-BOBS-3333")
    payment = PaymentFactory(pledge=mine, donor_email="ada@example.org")
    receipt = services.receipt_issue(payment=payment)
    other_receipt = services.receipt_issue(payment=PaymentFactory(pledge=theirs))
    signed_in(client, "ada@example.org", django_capture_on_commit_callbacks, mailoutbox)

    html = client.get(reverse("fundraising:donor-home")).content.decode()
    assert "HV-MINE-2222" in html and "HV-BOBS-3333" not in html
    pdf = client.get(reverse("fundraising:donor-receipt", args=[receipt.public_id]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        client.get(reverse("fundraising:donor-receipt", args=[other_receipt.public_id])).status_code
        == 404
    )
    stolen = reverse("fundraising:donor-pledge-action", args=[theirs.public_id, "address"])
    assert client.post(stolen, {"address": "1 Thief Road"}).status_code == 404
    theirs.refresh_from_db()
    assert "Thief" not in theirs.address


def test_the_address_can_be_corrected_until_a_receipt_is_issued(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org")
    payment = PaymentFactory(pledge=pledge)
    signed_in(client, "ada@example.org", django_capture_on_commit_callbacks, mailoutbox)
    action = reverse("fundraising:donor-pledge-action", args=[pledge.public_id, "address"])

    client.post(action, {"address": "9 New Street\nMontréal QC H2X 1Y4"})
    pledge.refresh_from_db()
    payment.refresh_from_db()
    assert pledge.address.startswith("9 New Street") and payment.donor_address == pledge.address

    services.receipt_issue(payment=payment)
    response = client.post(action, {"address": "10 Later Street"}, follow=True)
    assert "A receipt has already been issued" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.address.startswith("9 New Street")


def test_a_monthly_gift_can_be_paused_resumed_and_stopped(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    pledge = MonthlyPledgeFactory(campaign=campaign, email="ada@example.org")
    signed_in(client, "ada@example.org", django_capture_on_commit_callbacks, mailoutbox)

    def act(name: str) -> Pledge:
        client.post(reverse("fundraising:donor-pledge-action", args=[pledge.public_id, name]))
        pledge.refresh_from_db()
        return pledge

    assert act("pause").paused_at is not None
    assert services.donor_reminder_sweep(today=pledge.pledged_on + dt.timedelta(days=28)) == 0
    assert act("resume").paused_at is None
    assert act("cancel").status == Pledge.Status.CANCELLED


def test_export_and_erase(client, campaign, mailoutbox, django_capture_on_commit_callbacks):
    PledgeFactory(campaign=campaign, email="ada@example.org", donor_name="Ada Lovelace-Kim")
    signed_in(client, "ada@example.org", django_capture_on_commit_callbacks, mailoutbox)
    data = client.get(reverse("fundraising:donor-export")).json()
    assert data["pledges"][0]["name"] == "Ada Lovelace-Kim"

    client.post(reverse("fundraising:donor-erase"), {"confirm": "yes"})
    pledge = Pledge.objects.get()
    assert pledge.email == "" and "Lovelace" not in pledge.donor_name
    assert pledge.amount == Decimal("50.00")
    assert client.get(reverse("fundraising:donor-home")).status_code == 302  # signed out


def test_signed_out_visitors_are_sent_to_the_start_page(client, campaign):
    assert client.get(reverse("fundraising:donor-home"))["Location"] == START


def test_an_address_that_is_not_one_opens_on_the_error_summary(client, campaign):
    html = client.post(START, {"email": "not an address"}).content.decode()
    assert "data-error-summary" in html and "There is a problem" in html
    assert 'href="#id_email"' in html


def test_a_link_asked_for_again_within_minutes_is_not_sent_twice():
    """Back and resubmit, or a double click, on "E-mail me a sign-in link": one link, one
    e-mail. Asked for again after the window, a new link is written."""
    PledgeFactory(email="vera@example.org")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.donor_link_request(email="vera@example.org", language="en")
        services.donor_link_request(email=" Vera@Example.org ", language="en")
        assert DonorLink.objects.count() == 1
        assert DonorEmail.objects.filter(kind=DonorEmail.Kind.SIGN_IN).count() == 1
        clock.shift(dt.timedelta(minutes=services.DONOR_LINK_REPEAT_MINUTES, seconds=1))
        services.donor_link_request(email="vera@example.org", language="en")
    assert DonorLink.objects.count() == 2
    assert DonorEmail.objects.filter(kind=DonorEmail.Kind.SIGN_IN).count() == 2


def test_sign_in_sent_again_goes_to_the_donor_page(client):
    PledgeFactory(email="vera@example.org")
    services.donor_link_request(email="vera@example.org", language="en")
    url = services.donor_link_url(DonorLink.objects.get()).removeprefix("http://testserver")
    url = url[url.index("/give/") :]
    assert client.post(url).url == reverse("fundraising:donor-home")
    assert client.post(url).url == reverse("fundraising:donor-home")  # not "link used up"
    client.cookies.clear()
    assert client.post(url).status_code == 410  # another browser cannot use it


def test_stop_sent_again_is_not_an_error(client):
    pledge = MonthlyPledgeFactory(email="vera@example.org")
    from fundraising import donor

    donor.donor_pledge_cancel(email="vera@example.org", pledge=pledge)
    again = donor.donor_pledge_cancel(email="vera@example.org", pledge=pledge)
    assert again.status == Pledge.Status.CANCELLED
