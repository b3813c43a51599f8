"""Card gifts through Stripe: Checkout for one-time gifts, Billing for monthly ones.

Switched on by STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (docs/fundraising.md); without
them the page takes pledges paid later by e-Transfer or cheque, as before.

Money enters the books only here, from Stripe's signed webhook: each event is written once
(`StripeEvent`, unique event id) in the same transaction as its effects, so a replayed event
changes nothing; effects are keyed on Stripe's own ids (invoice, payment intent), so events
arriving out of order change nothing twice either. Logs carry pledge references and Stripe
ids, never a donor's name or e-mail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import ROUND_UP, Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fundraising import selectors, services
from fundraising.models import Payment, Pledge, StripeEvent

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
STRIPE_LOCALES = {"fr": "fr", "ko": "ko", "en": "en"}


class BadWebhook(Exception):
    """The request is not a genuine Stripe event (bad signature or body): answer 400."""


def card_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def checkout_origin() -> str:
    """Where Checkout pages live (the stand-in's address when one answers for Stripe)."""
    base = settings.STRIPE_API_BASE or "https://checkout.stripe.com"
    scheme, _sep, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _api() -> dict[str, Any]:
    """Per-call options: the key, and the API address when a stand-in answers (tests, demos)."""
    if settings.STRIPE_API_BASE:
        stripe.api_base = settings.STRIPE_API_BASE
    return {"api_key": settings.STRIPE_SECRET_KEY}


def fee_rate() -> tuple[Decimal, Decimal]:
    return Decimal(settings.STRIPE_FEE_PERCENT) / 100, Decimal(settings.STRIPE_FEE_FIXED)


def with_fee(amount: Decimal) -> Decimal:
    """What to charge so that `amount` is left after Stripe's fee (rounded up to the cent)."""
    percent, fixed = fee_rate()
    return ((amount + fixed) / (1 - percent)).quantize(CENT, rounding=ROUND_UP)


def charge_amount(pledge: Pledge) -> Decimal:
    return with_fee(pledge.amount) if pledge.cover_fee else pledge.amount


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def checkout_start(*, pledge: Pledge, success_url: str, cancel_url: str) -> str:
    """Open a Checkout session for the pledge; returns the page to send the donor to."""
    monthly = pledge.frequency == Pledge.Frequency.MONTHLY
    price: dict[str, Any] = {
        "currency": "cad",
        "unit_amount": _cents(charge_amount(pledge)),
        "product_data": {"name": f"{pledge.campaign.name} ({pledge.reference})"},
    }
    metadata = {"pledge": pledge.reference}
    params: dict[str, Any] = {
        "mode": "subscription" if monthly else "payment",
        "line_items": [{"price_data": price, "quantity": 1}],
        "client_reference_id": pledge.reference,
        "customer_email": pledge.email or None,
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": STRIPE_LOCALES.get(pledge.language.split("-")[0], "auto"),
    }
    if monthly:
        price["recurring"] = {"interval": "month"}
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
    session = stripe.checkout.Session.create(**params, **_api())
    Pledge.objects.filter(pk=pledge.pk).update(stripe_checkout_id=session["id"])
    logger.info("checkout %s opened for pledge %s", session["id"], pledge.reference)
    return session["url"]


def subscription_pause(pledge: Pledge) -> None:
    stripe.Subscription.modify(
        pledge.stripe_subscription_id, pause_collection={"behavior": "void"}, **_api()
    )


def subscription_resume(pledge: Pledge) -> None:
    stripe.Subscription.modify(pledge.stripe_subscription_id, pause_collection="", **_api())


def subscription_cancel(pledge: Pledge) -> None:
    stripe.Subscription.cancel(pledge.stripe_subscription_id, **_api())


# --- the webhook ---------------------------------------------------------------------------


def webhook_receive(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify, then apply the event exactly once. BadWebhook if it is not from Stripe."""
    try:
        stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
        obj = event["data"]["object"]
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
        logger.warning("Stripe webhook refused: %s", type(exc).__name__)
        raise BadWebhook from exc
    existing = StripeEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        logger.info("Stripe event %s replayed: nothing to do", event_id)
        return existing
    try:
        with transaction.atomic():
            # The row first: a simultaneous duplicate waits on the unique index, then fails.
            row = StripeEvent.objects.create(
                event_id=event_id,
                type=event_type,
                created=dt.datetime.fromtimestamp(int(event.get("created", 0)), tz=dt.UTC),
                outcome=StripeEvent.Outcome.IGNORED,
                payload=event,
            )
            handler = HANDLERS.get(event_type)
            if handler is not None:
                handler(row, obj)
            row.save()
    except IntegrityError:
        return StripeEvent.objects.get(event_id=event_id)
    log = logger.warning if row.outcome == StripeEvent.Outcome.UNMATCHED else logger.info
    log("Stripe event %s (%s): %s %s", event_id, event_type, row.outcome, row.detail)
    return row


def _metadata_reference(obj: dict) -> str:
    for holder in (
        obj.get("metadata"),
        (obj.get("subscription_details") or {}).get("metadata"),
        ((obj.get("parent") or {}).get("subscription_details") or {}).get("metadata"),
    ):
        if holder and holder.get("pledge"):
            return holder["pledge"]
    return obj.get("client_reference_id") or ""


def _subscription_id(obj: dict) -> str:
    value = obj.get("subscription") or (
        ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    return value if isinstance(value, str) else (value or {}).get("id", "")


def _find_pledge(obj: dict) -> Pledge | None:
    reference = _metadata_reference(obj)
    subscription = _subscription_id(obj)
    query = Q(reference=reference) if reference else Q(pk__in=[])
    if subscription:
        query |= Q(stripe_subscription_id=subscription)
    return Pledge.objects.select_for_update().filter(query).first()


def _unmatched(row: StripeEvent, detail: str) -> None:
    row.outcome = StripeEvent.Outcome.UNMATCHED
    row.detail = detail[:300]


def _event_date(row: StripeEvent) -> dt.date:
    return timezone.localdate(row.created)


def _record(row: StripeEvent, pledge: Pledge, *, external_id: str, cents: int, ref: str) -> None:
    if Payment.objects.filter(external_id=external_id).exists():
        row.detail = f"{external_id} already recorded"
        return
    row.payment = services.payment_record(
        pledge=pledge,
        amount=(Decimal(cents) / 100).quantize(CENT),
        received_on=min(_event_date(row), timezone.localdate()),
        method=Payment.Method.CARD,
        method_reference=ref[:60],
        external_id=external_id,
        source=services.SOURCE_STRIPE,
    )
    row.outcome = StripeEvent.Outcome.RECORDED
    row.detail = f"payment {external_id} for {pledge.reference}"


def _on_checkout_completed(row: StripeEvent, obj: dict) -> None:
    pledge = _find_pledge(obj)
    if pledge is None:
        _unmatched(row, f"checkout {obj.get('id')}: no pledge {_metadata_reference(obj)!r}")
        return
    row.pledge = pledge
    fields = []
    if obj.get("customer") and not pledge.stripe_customer_id:
        pledge.stripe_customer_id = obj["customer"]
        fields.append("stripe_customer_id")
    if obj.get("subscription") and not pledge.stripe_subscription_id:
        pledge.stripe_subscription_id = _subscription_id(obj)
        fields.append("stripe_subscription_id")
    if fields:
        pledge.save(update_fields=fields)
    row.outcome = StripeEvent.Outcome.RECORDED
    row.detail = f"checkout completed for {pledge.reference}"
    if obj.get("mode") == "payment" and obj.get("payment_status") == "paid":
        intent = obj.get("payment_intent") or obj["id"]
        _record(row, pledge, external_id=intent, cents=obj["amount_total"], ref=intent)


def _invoice_intent(obj: dict) -> str:
    if obj.get("payment_intent"):
        return obj["payment_intent"]
    for item in (obj.get("payments") or {}).get("data", []):
        intent = (item.get("payment") or {}).get("payment_intent")
        if intent:
            return intent
    return ""


def _on_invoice_paid(row: StripeEvent, obj: dict) -> None:
    pledge = _find_pledge(obj)
    if pledge is None:
        _unmatched(row, f"invoice {obj.get('id')}: no pledge for {_subscription_id(obj)!r}")
        return
    row.pledge = pledge
    if not pledge.stripe_subscription_id and _subscription_id(obj):
        pledge.stripe_subscription_id = _subscription_id(obj)
        pledge.save(update_fields=["stripe_subscription_id"])
    if pledge.status == Pledge.Status.CANCELLED:
        _unmatched(row, f"invoice {obj['id']} paid on cancelled pledge {pledge.reference}")
        return
    intent = _invoice_intent(obj)
    _record(row, pledge, external_id=obj["id"], cents=obj["amount_paid"], ref=intent or obj["id"])
    pledge.refresh_from_db()
    if pledge.renewal_failed_at is not None:
        Pledge.objects.filter(pk=pledge.pk).update(renewal_failed_at=None)
    if pledge.status == Pledge.Status.FULFILLED and pledge.stripe_subscription_id:
        # Every month pledged is paid: no more charges. After commit, outside the lock.
        transaction.on_commit(lambda: _end_subscription(pledge))


def _end_subscription(pledge: Pledge) -> None:
    try:
        subscription_cancel(pledge)
    except stripe.StripeError as exc:
        logger.warning("subscription of %s not ended: %s", pledge.reference, type(exc).__name__)


def _on_invoice_failed(row: StripeEvent, obj: dict) -> None:
    pledge = _find_pledge(obj)
    if pledge is None:
        _unmatched(row, f"invoice {obj.get('id')}: no pledge for {_subscription_id(obj)!r}")
        return
    row.pledge = pledge
    if Payment.objects.filter(external_id=obj["id"]).exists():
        row.detail = f"invoice {obj['id']} was paid since: failure ignored"
        return
    Pledge.objects.filter(pk=pledge.pk).update(renewal_failed_at=row.created)
    row.outcome = StripeEvent.Outcome.RECORDED
    row.detail = f"renewal failed for {pledge.reference} (invoice {obj['id']})"


def _payment_for_charge(obj: dict) -> Payment | None:
    intent = obj.get("payment_intent") or ""
    invoice = obj.get("invoice") or ""
    keys = [k for k in (intent, invoice) if isinstance(k, str) and k]
    if not keys:
        return None
    return (
        Payment.objects.select_for_update()
        .filter(Q(external_id__in=keys) | Q(method=Payment.Method.CARD, method_reference__in=keys))
        .first()
    )


def _take_back(row: StripeEvent, payment: Payment, cents: int) -> None:
    """A refund or a lost dispute: only ever raises the amount taken back (order-proof)."""
    taken = min(payment.amount, (Decimal(cents) / 100).quantize(CENT))
    row.payment, row.pledge = payment, payment.pledge
    if taken <= payment.refunded_amount:
        row.detail = f"{payment.external_id}: {taken} already taken back"
        return
    payment.refunded_amount = taken
    payment.save(update_fields=["refunded_amount"])
    if payment.pledge is not None:
        services.pledge_status_refresh(payment.pledge)
    else:
        campaign_id = payment.campaign_id
        transaction.on_commit(lambda: selectors.campaign_totals_invalidate(campaign_id))
    row.outcome = StripeEvent.Outcome.RECORDED
    row.detail = f"{payment.external_id}: {taken} taken back"


def _on_charge_refunded(row: StripeEvent, obj: dict) -> None:
    payment = _payment_for_charge(obj)
    if payment is None:
        _unmatched(row, f"refund of charge {obj.get('id')}: no recorded payment")
        return
    _take_back(row, payment, int(obj.get("amount_refunded", 0)))


def _dispute_payment(row: StripeEvent, obj: dict) -> Payment | None:
    payment = _payment_for_charge(obj)
    if payment is None:
        _unmatched(row, f"dispute {obj.get('id')}: no recorded payment")
    return payment


def _on_dispute_created(row: StripeEvent, obj: dict) -> None:
    payment = _dispute_payment(row, obj)
    if payment is None:
        return
    row.payment, row.pledge = payment, payment.pledge
    closed = StripeEvent.objects.filter(
        type="charge.dispute.closed", payload__data__object__id=obj.get("id")
    )
    if closed.exists():
        row.detail = f"dispute {obj.get('id')} already closed"
        return
    if payment.disputed_at is None:
        Payment.objects.filter(pk=payment.pk).update(disputed_at=row.created)
        transaction.on_commit(selectors.money_figures_changed)  # "not yet receipted"
    row.outcome = StripeEvent.Outcome.RECORDED
    row.detail = f"dispute opened on {payment.external_id}"


def _on_dispute_closed(row: StripeEvent, obj: dict) -> None:
    payment = _dispute_payment(row, obj)
    if payment is None:
        return
    if obj.get("status") == "lost":
        Payment.objects.filter(pk=payment.pk).update(disputed_at=payment.disputed_at or row.created)
        transaction.on_commit(selectors.money_figures_changed)
        _take_back(row, payment, int(obj.get("amount", 0)))
        row.detail = f"dispute lost on {payment.external_id}"
    else:
        Payment.objects.filter(pk=payment.pk).update(disputed_at=None)
        transaction.on_commit(selectors.money_figures_changed)
        row.payment, row.pledge = payment, payment.pledge
        row.outcome = StripeEvent.Outcome.RECORDED
        row.detail = f"dispute {obj.get('status')} on {payment.external_id}"


def _on_subscription_deleted(row: StripeEvent, obj: dict) -> None:
    pledge = _find_pledge({"subscription": obj.get("id"), "metadata": obj.get("metadata")})
    if pledge is None:
        _unmatched(row, f"subscription {obj.get('id')}: no pledge")
        return
    row.pledge = pledge
    row.outcome = StripeEvent.Outcome.RECORDED
    if pledge.status in Pledge.OPEN_STATUSES:
        services.pledge_cancel(pledge=pledge)
        row.detail = f"subscription ended: {pledge.reference} cancelled"
    else:
        row.detail = f"subscription ended: {pledge.reference} {pledge.status}"


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
    "customer.subscription.deleted": _on_subscription_deleted,
}
