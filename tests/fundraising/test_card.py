"""Card gifts: Stripe Checkout / Billing through the real `stripe` library, answered by a
stand-in on loopback; webhook events signed with a test secret, applied exactly once."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest
import stripe
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fundraising import card, selectors, services
from fundraising.models import Payment, Pledge, StripeEvent
from tests.factories import MonthlyPledgeFactory, PledgeFactory
from tests.fundraising import stripe_standin
from tests.fundraising.stripe_standin import event, invoice, sign
from tests.fundraising.test_campaign_page import valid_data

pytestmark = pytest.mark.django_db
WEBHOOK = "/give/stripe/webhook/"


@pytest.fixture
def standin():
    server = stripe_standin.start()
    original = stripe.api_base
    with override_settings(
        STRIPE_SECRET_KEY="sk_test_standin",
        STRIPE_WEBHOOK_SECRET=stripe_standin.SECRET,
        STRIPE_API_BASE=server.base,
    ):
        yield server
    stripe.api_base = original
    server.stop()


def send(client, payload: dict, signature: str | None = None):
    body = json.dumps(payload).encode()
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature or sign(body),
    )


def checkout_completed(pledge: Pledge, cents: int, intent: str = "pi_test_one", **extra) -> dict:
    obj = {
        "id": "cs_test_one",
        "object": "checkout.session",
        "mode": "payment",
        "client_reference_id": pledge.reference,
        "metadata": {"pledge": pledge.reference},
        "payment_intent": intent,
        "payment_status": "paid",
        "amount_total": cents,
    }
    return event("checkout.session.completed", obj | extra)


def test_the_page_sends_a_card_donor_to_checkout_with_the_fee_added(client, campaign, standin):
    response = client.post(
        reverse("fundraising:campaign", args=[campaign.slug]),
        valid_data(amount_choice="100", payment="card", cover_fee="on"),
    )
    assert response.status_code == 303
    assert response["Location"].startswith(f"{standin.base}/pay/cs_test_")
    pledge = Pledge.objects.get()
    assert pledge.pays_by_card and pledge.cover_fee and pledge.confirmed_at is None
    ((method, path, body),) = standin.requests
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert body["mode"] == "payment"
    # (100 + 0.30) / (1 - 0.029) = 103.295… → 103.30, rounded up so the whole gift arrives.
    assert body["line_items[0][price_data][unit_amount]"] == "10330"
    assert body["metadata[pledge]"] == pledge.reference
    assert body["success_url"].endswith(f"/give/thanks/{pledge.public_id}/?card=1")
    assert pledge.stripe_checkout_id or Pledge.objects.get().stripe_checkout_id


def test_a_monthly_gift_opens_a_subscription(client, campaign, standin):
    client.post(
        reverse("fundraising:campaign", args=[campaign.slug]),
        valid_data(amount_choice="50", frequency="monthly", months="6", payment="card"),
    )
    body = standin.requests[0][2]
    assert body["mode"] == "subscription"
    assert body["line_items[0][price_data][recurring][interval]"] == "month"
    assert body["line_items[0][price_data][unit_amount]"] == "5000"
    assert body["subscription_data[metadata][pledge]"] == Pledge.objects.get().reference


def test_a_paid_checkout_enters_the_books_once_however_often_it_is_sent(client, campaign, standin):
    pledge = PledgeFactory(campaign=campaign, amount=Decimal("100.00"), confirmed_at=None)
    payload = checkout_completed(pledge, 10330)
    assert send(client, payload).status_code == 200
    assert send(client, payload).status_code == 200  # Stripe retries; a replay changes nothing
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.external_id) == (
        Decimal("103.30"),
        "card",
        "pi_test_one",
    )
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.FULFILLED and pledge.confirmed_at is not None
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.RECORDED
    # The same payment under another event id (Stripe re-sending it) is not counted twice.
    assert send(client, checkout_completed(pledge, 10330)).status_code == 200
    assert Payment.objects.count() == 1 and StripeEvent.objects.count() == 2


def test_a_bad_signature_is_refused_and_nothing_is_written(client, campaign, standin):
    pledge = PledgeFactory(campaign=campaign)
    payload = checkout_completed(pledge, 5000)
    body = json.dumps(payload).encode()
    wrong = stripe_standin.sign(body, secret="whsec_someone_else")
    assert send(client, payload, signature=wrong).status_code == 400
    stale = stripe_standin.sign(body, timestamp=int(time.time()) - 3600)
    assert send(client, payload, signature=stale).status_code == 400
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 400
    assert not StripeEvent.objects.exists() and not Payment.objects.exists()


def test_an_event_for_an_unknown_pledge_is_kept_for_staff(client, campaign, standin, caplog):
    ghost = Pledge(reference="HV-GONE-2222", amount=Decimal("10"))
    with caplog.at_level(logging.WARNING, logger="fundraising.card"):
        assert send(client, checkout_completed(ghost, 1000)).status_code == 200
    row = StripeEvent.objects.get()
    assert row.outcome == StripeEvent.Outcome.UNMATCHED
    assert row.payload["data"]["object"]["client_reference_id"] == "HV-GONE-2222"
    assert "HV-GONE-2222" in caplog.text
    assert not Payment.objects.exists()


def test_a_renewal_that_fails_then_succeeds(client, campaign, standin):
    pledge = MonthlyPledgeFactory(
        campaign=campaign, amount=Decimal("25.00"), months=12, stripe_subscription_id="sub_1"
    )
    send(client, event("invoice.paid", invoice("sub_1", pledge.reference, 2500, "in_1")))
    send(client, event("invoice.payment_failed", invoice("sub_1", pledge.reference, 2500, "in_2")))
    pledge.refresh_from_db()
    assert pledge.renewal_failed_at is not None
    assert Payment.objects.count() == 1

    send(client, event("invoice.paid", invoice("sub_1", pledge.reference, 2500, "in_2")))
    pledge.refresh_from_db()
    assert pledge.renewal_failed_at is None
    assert sorted(Payment.objects.values_list("external_id", flat=True)) == ["in_1", "in_2"]
    assert selectors.pledge_paid_total(pledge) == Decimal("50.00")


def test_events_out_of_order_change_nothing_twice(client, campaign, standin):
    pledge = MonthlyPledgeFactory(campaign=campaign, amount=Decimal("25.00"), confirmed_at=None)
    paid = event("invoice.paid", invoice("sub_9", pledge.reference, 2500, "in_9"))
    failed_earlier = event(
        "invoice.payment_failed", invoice("sub_9", pledge.reference, 2500, "in_9")
    )
    completed = event(
        "checkout.session.completed",
        {
            "id": "cs_9",
            "mode": "subscription",
            "client_reference_id": pledge.reference,
            "metadata": {"pledge": pledge.reference},
            "subscription": "sub_9",
            "customer": "cus_9",
            "payment_status": "paid",
            "amount_total": 2500,
        },
    )
    for payload in (paid, failed_earlier, completed):  # the reverse of Stripe's order
        assert send(client, payload).status_code == 200
    pledge.refresh_from_db()
    assert pledge.stripe_subscription_id == "sub_9" and pledge.stripe_customer_id == "cus_9"
    assert pledge.renewal_failed_at is None  # the failure was for an invoice since paid
    assert Payment.objects.get().external_id == "in_9"
    assert pledge.confirmed_at is not None


def test_refunds_and_lost_disputes_leave_the_totals_and_receipts(client, campaign, standin):
    pledge = PledgeFactory(campaign=campaign, amount=Decimal("100.00"))
    send(client, checkout_completed(pledge, 10000, intent="pi_r"))
    charge = {"id": "ch_r", "object": "charge", "payment_intent": "pi_r"}
    send(client, event("charge.refunded", charge | {"amount_refunded": 4000}))
    send(client, event("charge.refunded", charge | {"amount_refunded": 1000}))  # older, late
    payment = Payment.objects.get()
    assert payment.refunded_amount == Decimal("40.00")
    assert selectors.campaign_totals(campaign).received == Decimal("60.00")
    with pytest.raises(ValidationError, match="refunded or disputed"):
        services.receipt_issue(payment=payment)

    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_r", "amount": 10000}
    send(client, event("charge.dispute.created", dispute | {"status": "needs_response"}))
    send(client, event("charge.dispute.closed", dispute | {"status": "lost"}))
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("100.00") and payment.disputed_at is not None
    assert selectors.campaign_totals(campaign).received == Decimal("0.00")


def test_a_fulfilled_monthly_gift_ends_its_subscription(
    client, campaign, standin, django_capture_on_commit_callbacks
):
    pledge = MonthlyPledgeFactory(campaign=campaign, amount=Decimal("10.00"), months=1)
    with django_capture_on_commit_callbacks(execute=True):
        send(client, event("invoice.paid", invoice("sub_end", pledge.reference, 1000, "in_e")))
    assert ("DELETE", "/v1/subscriptions/sub_end", {}) in standin.requests


def test_card_money_never_comes_from_a_person(campaign):
    pledge = PledgeFactory(campaign=campaign)
    with pytest.raises(ValidationError, match="Stripe"):
        services.payment_record(
            pledge=pledge, amount=Decimal("50"), received_on=timezone.localdate(), method="card"
        )


def test_without_stripe_keys_the_page_says_how_to_pay_and_the_webhook_is_absent(client, campaign):
    html = client.get(reverse("fundraising:campaign", args=[campaign.slug])).content.decode()
    assert "by Interac e-Transfer or cheque" in html
    assert 'name="payment"' not in html
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 404
    assert card.card_enabled() is False
