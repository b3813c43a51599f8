"""Donor self-service (/give/donor/): what a donor signed in by an e-mailed link may see and
do with their own gifts. Every function takes the signed-in e-mail and touches only rows of
that e-mail; anything else is "not found" (docs/fundraising.md).
"""

from __future__ import annotations

import logging

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fundraising import card, selectors, services
from fundraising.models import Payment, Pledge, Receipt

logger = logging.getLogger(__name__)


def donor_receipts(email: str) -> QuerySet[Receipt]:
    return Receipt.objects.filter(donor_email__iexact=email, cancelled_at__isnull=True).order_by(
        "-issued_on", "-serial"
    )


def donor_pledge(email: str, public_id) -> Pledge:
    pledge = selectors.donor_pledges(email).filter(public_id=public_id).first()
    if pledge is None:
        raise Http404
    return pledge


def donor_receipt(email: str, public_id) -> Receipt:
    receipt = donor_receipts(email).filter(public_id=public_id).first()
    if receipt is None:
        raise Http404
    return receipt


def _receipted(pledge: Pledge) -> bool:
    return Receipt.objects.filter(payments__pledge=pledge, cancelled_at__isnull=True).exists()


def address_editable(pledge: Pledge) -> bool:
    """Before any receipt covers the pledge's gifts (afterwards: cancel and replace, by staff)."""
    return not _receipted(pledge)


@transaction.atomic
def donor_address_correct(*, email: str, pledge: Pledge, address: str) -> Pledge:
    pledge = Pledge.objects.select_for_update().get(pk=donor_pledge(email, pledge.public_id).pk)
    if not address_editable(pledge):
        raise ValidationError(
            {
                "address": _(
                    "A receipt has already been issued for this gift: write to us and we will "
                    "replace it with the corrected address."
                )
            }
        )
    address = address.strip()
    if pledge.wants_receipt and not address:
        raise ValidationError({"address": _("A postal address is needed for a tax receipt.")})
    pledge.address = address
    pledge.full_clean(validate_unique=False, validate_constraints=False)
    pledge.save(update_fields=["address"])
    # No receipt covers these gifts yet (checked above): they carry the address it will show.
    Payment.objects.filter(pledge=pledge).update(donor_address=address)
    logger.info("donor corrected the address of pledge %s", pledge.reference)
    return pledge


def _monthly_open(email: str, pledge: Pledge) -> Pledge:
    pledge = Pledge.objects.select_for_update().get(pk=donor_pledge(email, pledge.public_id).pk)
    if pledge.frequency != Pledge.Frequency.MONTHLY or pledge.status not in Pledge.OPEN_STATUSES:
        raise ValidationError(_("Only a monthly gift that is still running can be changed."))
    return pledge


def _stripe_call(action, pledge: Pledge) -> None:
    if not pledge.stripe_subscription_id:
        return
    try:
        action(pledge)
    except stripe.StripeError as exc:
        logger.warning("subscription of %s: %s", pledge.reference, type(exc).__name__)
        raise ValidationError(
            _("The card payments could not be changed just now. Please try again later.")
        ) from exc


@transaction.atomic
def donor_pledge_pause(*, email: str, pledge: Pledge) -> Pledge:
    pledge = _monthly_open(email, pledge)
    if pledge.paused_at is None:
        _stripe_call(card.subscription_pause, pledge)
        pledge.paused_at = timezone.now()
        pledge.save(update_fields=["paused_at"])
        logger.info("donor paused pledge %s", pledge.reference)
    return pledge


@transaction.atomic
def donor_pledge_resume(*, email: str, pledge: Pledge) -> Pledge:
    pledge = _monthly_open(email, pledge)
    if pledge.paused_at is not None:
        _stripe_call(card.subscription_resume, pledge)
        pledge.paused_at = None
        pledge.save(update_fields=["paused_at"])
        logger.info("donor resumed pledge %s", pledge.reference)
    return pledge


@transaction.atomic
def donor_pledge_cancel(*, email: str, pledge: Pledge) -> Pledge:
    # Locked first: a second "Stop" (Back and resubmit, a double click) waits for the first
    # and then finds the gift stopped: nothing more to do, and no error to show.
    locked = Pledge.objects.select_for_update().get(pk=donor_pledge(email, pledge.public_id).pk)
    if locked.frequency == Pledge.Frequency.MONTHLY and locked.status == Pledge.Status.CANCELLED:
        return locked
    pledge = _monthly_open(email, pledge)
    _stripe_call(card.subscription_cancel, pledge)
    logger.info("donor cancelled pledge %s", pledge.reference)
    return services.pledge_cancel(pledge=pledge)
