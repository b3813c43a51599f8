"""The staff side: who may see money, record payments, issue receipts, export, anonymise."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from core.admin_forms import in_words
from fundraising import services
from fundraising.models import DonorEmail, Payment, Pledge, Receipt
from tests.factories import PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = ["pledge", "payment", "receipt", "campaign", "donoremail"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_keeps_case_workers_out_of_the_money(client, case_worker, model):
    client.force_login(case_worker)
    response = client.get(reverse(f"admin:fundraising_{model}_changelist"))
    assert response.status_code == 403


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_opens_the_money_to_fundraisers_and_program_managers(
    client, fundraiser, program_manager, model, campaign
):
    PaymentFactory(pledge__campaign=campaign)
    for user in (fundraiser, program_manager):
        client.force_login(user)
        assert client.get(reverse(f"admin:fundraising_{model}_changelist")).status_code == 200


def test_it_searches_pledges_by_reference_and_e_mail(client, fundraiser, campaign):
    pledge = PledgeFactory(campaign=campaign, email="findme@example.org")
    PledgeFactory(campaign=campaign, donor_name="Someone Else")
    client.force_login(fundraiser)
    url = reverse("admin:fundraising_pledge_changelist")
    for term in (pledge.reference, "findme@"):
        html = client.get(url, {"q": term}).content.decode()
        assert pledge.reference in html and "Someone Else" not in html


def test_it_records_a_payment_from_the_pledge_list(client, fundraiser, campaign):
    pledge = PledgeFactory(campaign=campaign, amount=Decimal("100"))
    client.force_login(fundraiser)
    url = reverse("admin:fundraising_pledge_changelist")
    form_page = client.post(url, {"action": "record_payment", ACTION_CHECKBOX_NAME: [pledge.pk]})
    assert form_page.status_code == 200
    assert "Record a payment" in form_page.content.decode()

    response = client.post(
        url,
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [pledge.pk],
            "apply": "1",
            "amount": "40.00",
            "received_on": pledge.pledged_on.isoformat(),
            "method": "cheque",
            "method_reference": "123",
        },
    )

    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.recorded_by) == (
        Decimal("40.00"),
        "cheque",
        fundraiser,
    )
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PARTLY_PAID


def test_it_issues_a_receipt_and_reports_a_refusal(client, fundraiser, campaign):
    good = PaymentFactory(pledge__campaign=campaign)
    bad = PaymentFactory(pledge__campaign=campaign, is_private_benevolence=True)
    client.force_login(fundraiser)
    response = client.post(
        reverse("admin:fundraising_payment_changelist"),
        {"action": "issue_receipt", ACTION_CHECKBOX_NAME: [good.pk, bad.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert Receipt.objects.get().payment == good
    assert "private benevolence" in html
    assert "Receipt No. 000001 issued" in html


def test_it_cancels_and_replaces_a_receipt_in_the_admin(client, fundraiser, campaign):
    receipt = services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign))
    client.force_login(fundraiser)
    response = client.post(
        reverse("admin:fundraising_receipt_changelist"),
        {
            "action": "cancel_and_replace",
            ACTION_CHECKBOX_NAME: [receipt.pk],
            "apply": "1",
            "reason": "Lost by the donor",
        },
    )
    assert response.status_code == 302
    receipt.refresh_from_db()
    assert receipt.is_cancelled and receipt.replaced_by.serial == 2


def test_it_never_deletes_money_or_receipts(client, program_manager, campaign):
    receipt = services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign))
    client.force_login(program_manager)
    for model, pk in [
        ("receipt", receipt.pk),
        ("payment", receipt.payment_id),
        ("pledge", receipt.payment.pledge_id),
    ]:
        assert (
            client.get(reverse(f"admin:fundraising_{model}_delete", args=[pk])).status_code == 403
        )
    change = client.get(reverse("admin:fundraising_receipt_change", args=[receipt.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    pdf = client.get(reverse("admin:fundraising_receipt_pdf", args=[receipt.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content == bytes(receipt.pdf)


def test_it_exports_everything_held_about_a_donor(client, fundraiser, campaign):
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org", public_message="Hello")
    PaymentFactory(pledge=pledge)
    PledgeFactory(campaign=campaign, email="other@example.org")
    client.force_login(fundraiser)
    response = client.get(reverse("admin:fundraising_donor"), {"email": "ADA@example.org"})
    data = json.loads(response.content)
    assert response["Content-Disposition"].startswith("attachment")
    assert [p["reference"] for p in data["pledges"]] == [pledge.reference]
    assert data["pledges"][0]["public_message"] == "Hello"
    assert len(data["payments"]) == 1
    assert "other@example.org" not in response.content.decode()


def test_it_anonymises_a_donor_but_keeps_the_financial_record(client, fundraiser, campaign):
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org", donor_name="Ada Example")
    receipted = PaymentFactory(pledge=pledge, amount=Decimal("50"))
    receipt = services.receipt_issue(payment=receipted)
    other = PaymentFactory(pledge=pledge, amount=Decimal("20"), received_on=dt.date(2026, 3, 9))
    client.force_login(fundraiser)
    url = reverse("admin:fundraising_pledge_changelist")
    confirm = client.post(url, {"action": "anonymise_donor", ACTION_CHECKBOX_NAME: [pledge.pk]})
    assert "cannot be undone" in confirm.content.decode()
    client.post(url, {"action": "anonymise_donor", ACTION_CHECKBOX_NAME: [pledge.pk], "apply": "1"})

    pledge.refresh_from_db()
    other.refresh_from_db()
    receipted.refresh_from_db()
    receipt.refresh_from_db()
    assert (pledge.email, pledge.address, pledge.is_anonymous) == ("", "", True)
    assert "Ada" not in pledge.donor_name and pledge.anonymised_at is not None
    assert (
        other.donor_name != "Ada Example"
        and other.donor_email == ""
        and other.amount == Decimal("20")
    )
    assert receipted.donor_name == "Ada Example"  # shown on an issued receipt: kept (CRA)
    assert receipt.donor_name == "Ada Example" and not receipt.is_cancelled
    assert not DonorEmail.objects.filter(sent_at__isnull=True, failed_at__isnull=True).exists()


def test_it_shows_the_reports(client, fundraiser, campaign):
    PledgeFactory(campaign=campaign, donor_name="Owes Money")
    PaymentFactory(pledge=None, campaign=campaign, donor_name="Not Receipted Yet")
    client.force_login(fundraiser)
    html = client.get(reverse("admin:fundraising_reports")).content.decode()
    assert "Owes Money" in html and "Not Receipted Yet" in html
    not_receipted = client.get(reverse("admin:fundraising_payment_changelist"), {"receipted": "no"})
    assert "Not Receipted Yet" in not_receipted.content.decode()


def test_it_issues_a_yearly_receipt_from_the_admin(client, fundraiser, campaign):
    pledge = PledgeFactory(campaign=campaign, email="ada@example.org")
    PaymentFactory(pledge=pledge, received_on=dt.date(2026, 1, 5))
    PaymentFactory(pledge=pledge, received_on=dt.date(2026, 2, 5))
    client.force_login(fundraiser)
    response = client.post(
        reverse("admin:fundraising_receipt_yearly"),
        {"donor_email": "ada@example.org", "year": "2026"},
    )
    assert response.status_code == 302
    assert Receipt.objects.get().payments.count() == 2


def test_it_adds_a_payment_without_a_pledge_and_refuses_a_future_date(client, fundraiser, campaign):
    client.force_login(fundraiser)
    url = reverse("admin:fundraising_payment_add")
    data = {
        "campaign": campaign.pk,
        "donor_name": "Walk-in Donor",
        "donor_address": "5 Example Lane",
        "amount": "20.00",
        "received_on": "2999-01-01",
        "method": "cash",
        "advantage_amount": "0.00",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and Payment.objects.count() == 0
    assert "cannot be received in the future" in response.content.decode()

    response = client.post(url, data | {"received_on": "2026-03-01"})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.pledge is None and payment.recorded_by == fundraiser


def test_it_opens_every_change_page(client, fundraiser, campaign):
    receipt = services.receipt_issue(payment=PaymentFactory(pledge__campaign=campaign))
    client.force_login(fundraiser)
    pages = [
        reverse("admin:fundraising_campaign_change", args=[campaign.pk]),
        reverse("admin:fundraising_campaign_add"),
        reverse("admin:fundraising_pledge_change", args=[receipt.payment.pledge_id]),
        reverse("admin:fundraising_payment_change", args=[receipt.payment_id]),
        reverse("admin:fundraising_payment_add"),
        reverse("admin:fundraising_receipt_change", args=[receipt.pk]),
        reverse("admin:fundraising_donoremail_change", args=[DonorEmail.objects.get().pk]),
        reverse("admin:fundraising_receipt_yearly"),
        reverse("admin:fundraising_donor"),
        reverse("admin:fundraising_reports"),
    ]
    for page in pages:
        assert client.get(page).status_code == 200, page


def test_record_a_payment_shows_the_donor_and_what_is_owed_and_refuses_a_date_before_the_pledge(
    client, fundraiser, campaign
):
    pledge = PledgeFactory(campaign=campaign, amount=Decimal("100"), donor_name="Vera Shown")
    client.force_login(fundraiser)
    url = reverse("admin:fundraising_pledge_changelist")
    page = client.post(url, {"action": "record_payment", ACTION_CHECKBOX_NAME: [pledge.pk]})
    html = page.content.decode()
    assert "Vera Shown" in html and "Still owed" in html and 'type="date"' in html
    # The date is written out in words under the input (no order of day and month claimed).
    assert in_words(timezone.localdate()) in html and "data-date-words" in html

    day_before = pledge.pledged_on - dt.timedelta(days=1)
    refused = client.post(
        url,
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [pledge.pk],
            "apply": "1",
            "amount": "40.00",
            "received_on": day_before.isoformat(),
            "method": "cheque",
        },
    )
    assert refused.status_code == 200
    assert "before the pledge was made" in refused.content.decode()
    assert not Payment.objects.exists()
