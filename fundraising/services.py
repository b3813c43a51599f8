"""Writes of the fundraising app. Each service sets its transaction, validates, and raises
`ValidationError` with a message a person can act on.

E-mails are rows first (`DonorEmail`), queued after commit; if the broker is down the row
waits for the reconciler. Logs carry pledge references and row ids, never a donor's name,
e-mail or address.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import emails, outbox
from core.prepared import OneIdQuery, PreparedInsert
from core.roles import FUNDRAISING
from fundraising import rules, selectors
from fundraising.models import (
    ZERO,
    Campaign,
    DonorEmail,
    DonorLink,
    Payment,
    Pledge,
    Receipt,
    ReceiptBranding,
    ReceiptSequence,
)
from fundraising.pdf import duplicate_pdf, receipt_pdf

logger = logging.getLogger(__name__)

# By name, so the services never import the tasks module (which imports the services).
DRAIN_TASK = "fundraising.tasks.send_donor_emails"
REMINDER_DAYS_BEFORE = 3
LAPSED_AFTER_MISSED = 2
STOP_SALT = "fundraising.reminders-stop"
SOURCE_STAFF = "staff"
SOURCE_STRIPE = "stripe"
SOURCE_IMPORT = "import"
CONFIRM_SALT = "fundraising.pledge-confirm"


def confirm_days() -> int:
    """Days a pledge waits for its confirmation before it expires (and the link with it)."""
    return int(getattr(settings, "FUNDRAISING_PLEDGE_CONFIRM_DAYS", 7))


# --- pledges -----------------------------------------------------------------------------


_PLEDGE_INSERT = PreparedInsert(Pledge)
_DONOR_EMAIL_INSERT = PreparedInsert(DonorEmail)


@transaction.atomic
def pledge_create(
    *,
    campaign: Campaign,
    donor_name: str,
    email: str,
    amount: Decimal,
    frequency: str = Pledge.Frequency.ONE_TIME,
    months: int = 1,
    address: str = "",
    wants_receipt: bool = True,
    is_anonymous: bool = False,
    public_message: str = "",
    tribute_kind: str = "",
    tribute_name: str = "",
    consent_to_contact: bool = False,
    language: str = "en",
    idempotency_key: uuid.UUID | None = None,
    pledged_on: dt.date | None = None,
    send_confirmation: bool = True,
    pays_by_card: bool = False,
    cover_fee: bool = False,
) -> Pledge:
    """Record a pledge and queue its confirmation e-mail (sent after commit)."""
    today = timezone.localdate()
    if not campaign.is_active or (campaign.ends_on and campaign.ends_on < today):
        raise ValidationError(_("This campaign is closed to new pledges."))
    if frequency == Pledge.Frequency.ONE_TIME:
        months = 1
    if wants_receipt and not address.strip():
        raise ValidationError(
            {"address": _("A postal address is needed for a tax receipt (or decline the receipt).")}
        )
    pledge = Pledge(
        campaign=campaign,
        donor_name=donor_name.strip(),
        email=email.strip(),
        address=address.strip(),
        wants_receipt=wants_receipt,
        amount=amount,
        frequency=frequency,
        months=months,
        is_anonymous=is_anonymous,
        public_message=public_message.strip(),
        tribute_kind=tribute_kind,
        tribute_name=tribute_name.strip() if tribute_kind else "",
        consent_to_contact=consent_to_contact,
        language=language,
        idempotency_key=idempotency_key,
        pledged_on=pledged_on or today,
        pays_by_card=pays_by_card,
        cover_fee=pays_by_card and cover_fee,
    )
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("Enter an amount above zero.")})
    if not 1 <= months <= 36:
        raise ValidationError({"months": _("Choose between 1 and 36 months.")})
    # The model's check constraints are the rules just above plus valid choices (checked by
    # clean_fields) and are enforced again by the database at INSERT; validating them through
    # full_clean costs five queries and five savepoints per pledge (a third of a pledge's time
    # under load, measured by `make bench`), so they are checked here in Python instead.
    # The unique reference and token are left to the database too (see pledge_create_once),
    # and the campaign, an instance in hand, is not looked up again.
    pledge.full_clean(exclude=["campaign"], validate_unique=False, validate_constraints=False)
    # Both INSERTs compiled once per process: on every pledge the ORM's compiling cost more
    # than the database's work (docs/performance.md, "Pledge POST"); the signals still go.
    _PLEDGE_INSERT.save(pledge)
    if send_confirmation and pledge.email:
        email_row = DonorEmail(
            kind=DonorEmail.Kind.CONFIRMATION, pledge=pledge, due_on=pledge.pledged_on
        )
        _DONOR_EMAIL_INSERT.save(email_row)
        _queue_emails([email_row.pk])
    # No cached figure or page changes: a new pledge is unconfirmed, and an unconfirmed pledge
    # counts in no total, is on no wall and in no money summary until `_mark_confirmed` (or a
    # payment) drops them (docs/performance.md, "Pledge POST").
    logger.info("pledge %s created", pledge.reference)
    return pledge


def pledge_create_once(*, idempotency_key: uuid.UUID, **kwargs) -> tuple[Pledge, bool]:
    """`pledge_create` unless a pledge with this form token exists: (pledge, created).

    A double click or a reloaded POST carries the same token: the unique constraint refuses
    the second INSERT (whether it comes a second or a millisecond later) and the caller gets
    the first pledge. The INSERT is tried first, so a new pledge (nearly every POST) costs no
    look-up. A clash of the random reference (29^8 codes: rare, not impossible) is refused by
    its own unique constraint and the pledge is tried once more with a fresh reference.
    """
    try:
        return pledge_create(idempotency_key=idempotency_key, **kwargs), True
    except IntegrityError:
        existing = Pledge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    # No pledge holds the token: the reference clashed. Once more, with a fresh one.
    return pledge_create(idempotency_key=idempotency_key, **kwargs), True


@transaction.atomic
def pledge_cancel(*, pledge: Pledge) -> Pledge:
    pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
    if pledge.status == Pledge.Status.FULFILLED:
        raise ValidationError(_("A fulfilled pledge cannot be cancelled."))
    pledge.status = Pledge.Status.CANCELLED
    pledge.save(update_fields=["status"])
    transaction.on_commit(lambda: selectors.campaign_totals_invalidate(pledge.campaign_id))
    return pledge


def pledge_confirm_token(pledge: Pledge) -> str:
    return signing.dumps(str(pledge.public_id), salt=CONFIRM_SALT, compress=True)


def pledge_confirm_url(pledge: Pledge) -> str:
    return settings.SITE_URL + reverse(
        "fundraising:pledge-confirm", args=[pledge_confirm_token(pledge)]
    )


class ConfirmationRefused(Exception):
    """A confirmation link that cannot confirm: `reason` is "invalid", "expired" or "closed"."""

    def __init__(self, reason: str, pledge: Pledge | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pledge = pledge


def pledge_from_confirm_token(token: str) -> Pledge:
    """The pledge a confirmation link names; ConfirmationRefused if it is bad or too old."""
    max_age = dt.timedelta(days=confirm_days())
    try:
        public_id = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
        return Pledge.objects.select_related("campaign").get(public_id=uuid.UUID(public_id))
    except signing.SignatureExpired as exc:
        raise ConfirmationRefused("expired") from exc
    except (signing.BadSignature, ValueError, TypeError, Pledge.DoesNotExist) as exc:
        raise ConfirmationRefused("invalid") from exc


def _wall_auto_approvable(pledge: Pledge) -> bool:
    return (
        pledge.campaign.auto_approve_wall
        and not pledge.public_message
        and not pledge.tribute_name
        and pledge.wall_approved_at is None
        and pledge.wall_declined_at is None
    )


def _mark_confirmed(pledge: Pledge, now: dt.datetime) -> None:
    """Set confirmed_at (and the wall's automatic approval when staff turned it on)."""
    fields = ["confirmed_at"]
    pledge.confirmed_at = now
    if _wall_auto_approvable(pledge):
        pledge.wall_approved_at = now
        fields.append("wall_approved_at")
    pledge.save(update_fields=fields)
    transaction.on_commit(lambda: selectors.campaign_totals_invalidate(pledge.campaign_id))


@transaction.atomic
def pledge_confirm(*, token: str) -> tuple[Pledge, bool]:
    """Confirm the pledge named by an e-mailed link: (pledge, newly confirmed).

    The link works once: a second use reports the pledge as already confirmed and changes
    nothing. A link older than FUNDRAISING_PLEDGE_CONFIRM_DAYS, or for a pledge that expired
    or was cancelled, is refused (ConfirmationRefused).
    """
    pledge = pledge_from_confirm_token(token)
    pledge = Pledge.objects.select_for_update().select_related("campaign").get(pk=pledge.pk)
    if pledge.confirmed_at is not None:
        return pledge, False
    if pledge.status not in Pledge.OPEN_STATUSES:
        raise ConfirmationRefused("closed", pledge)
    _mark_confirmed(pledge, timezone.now())
    logger.info("pledge %s confirmed", pledge.reference)
    return pledge, True


def pledges_expire_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Expire pledges not confirmed within FUNDRAISING_PLEDGE_CONFIRM_DAYS (a beat task)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=confirm_days())
    with transaction.atomic():
        stale = selectors.pledges_unconfirmed().filter(created_at__lt=cutoff)
        campaign_ids = set(stale.values_list("campaign_id", flat=True))
        count = stale.update(status=Pledge.Status.EXPIRED)
    for campaign_id in campaign_ids:
        selectors.campaign_totals_invalidate(campaign_id)
    logger.info("%s unconfirmed pledge(s) expired", count)
    return count


def _wall_changed(pledges: list[Pledge]) -> None:
    for campaign_id in {p.campaign_id for p in pledges}:
        transaction.on_commit(functools.partial(selectors.campaign_totals_invalidate, campaign_id))


@transaction.atomic
def pledges_wall_approve(*, pledges: list[Pledge], approved_by: User | None) -> int:
    """Show these pledges' name, message and tribute on the public wall (an entry declined
    before is approved now). `approved_by` is None only for data loaded without a person
    (the demo)."""
    count = Pledge.objects.filter(
        pk__in=[p.pk for p in pledges], wall_approved_at__isnull=True
    ).update(
        wall_approved_at=timezone.now(),
        wall_approved_by=approved_by,
        wall_declined_at=None,
        wall_declined_by=None,
    )
    _wall_changed(pledges)
    logger.info("%s wall entr(ies) approved", count)
    return count


@transaction.atomic
def pledges_wall_decline(*, pledges: list[Pledge], declined_by: User) -> int:
    """Keep these pledges off the public wall after review (taken off if they were on it);
    they leave the "waiting for review" list. The pledge itself is unchanged."""
    count = Pledge.objects.filter(
        pk__in=[p.pk for p in pledges], wall_declined_at__isnull=True
    ).update(
        wall_declined_at=timezone.now(),
        wall_declined_by=declined_by,
        wall_approved_at=None,
        wall_approved_by=None,
    )
    _wall_changed(pledges)
    logger.info("%s wall entr(ies) declined", count)
    return count


@transaction.atomic
def pledges_wall_withdraw(*, pledges: list[Pledge]) -> int:
    """Take these pledges off the public wall (the pledge itself is unchanged)."""
    count = Pledge.objects.filter(pk__in=[p.pk for p in pledges]).update(
        wall_approved_at=None, wall_approved_by=None
    )
    _wall_changed(pledges)
    return count


def pledge_status_refresh(pledge: Pledge) -> None:
    """Recompute a pledge's status from what it has received (after a refund, say)."""
    status = _pledge_status_from_payments(pledge)
    if status == Pledge.Status.PARTLY_PAID and selectors.pledge_paid_total(pledge) <= 0:
        status = Pledge.Status.PLEDGED
    if status != pledge.status:
        pledge.status = status
        pledge.save(update_fields=["status"])
    transaction.on_commit(lambda: selectors.campaign_totals_invalidate(pledge.campaign_id))


def _pledge_status_from_payments(pledge: Pledge) -> str:
    if pledge.status == Pledge.Status.CANCELLED:
        return pledge.status
    paid = selectors.pledge_paid_total(pledge)
    if paid >= pledge.total:
        return Pledge.Status.FULFILLED
    if paid > 0:
        # A lapsed pledge that is paid again is alive again.
        return Pledge.Status.PARTLY_PAID
    return pledge.status


# --- payments ----------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    amount: Decimal,
    received_on: dt.date,
    method: str,
    pledge: Pledge | None = None,
    campaign: Campaign | None = None,
    donor_name: str = "",
    donor_email: str = "",
    donor_address: str = "",
    method_reference: str = "",
    advantage_amount: Decimal = ZERO,
    advantage_description: str = "",
    is_private_benevolence: bool = False,
    notes: str = "",
    recorded_by=None,
    external_id: str = "",
    source: str = SOURCE_STAFF,
    via_qualified_donee: str = "",
) -> Payment:
    """Record money received, against a pledge (donor details copied from it) or not.

    A card payment enters the books only from Stripe's signed notifications (`source` =
    "stripe", fundraising/card.py), never typed in by hand.
    """
    if method == Payment.Method.CARD and source != SOURCE_STRIPE:
        raise ValidationError(
            {
                "method": _(
                    "Card payments are recorded from Stripe's notifications only: they appear "
                    "here by themselves once Stripe has taken the money."
                )
            }
        )
    if external_id and Payment.objects.filter(external_id=external_id).exists():
        raise ValidationError(
            _("This payment (%(id)s) is already recorded.") % {"id": external_id},
            code="duplicate",
        )
    if pledge is not None:
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if pledge.status == Pledge.Status.CANCELLED:
            raise ValidationError(_("This pledge is cancelled: record the payment without it."))
        campaign = pledge.campaign
        donor_name = donor_name or pledge.donor_name
        donor_email = donor_email or pledge.email
        donor_address = donor_address or pledge.address
    if campaign is None:
        raise ValidationError({"campaign": _("Choose the campaign this money belongs to.")})
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("A payment cannot be received in the future.")})
    if pledge is not None and received_on < pledge.pledged_on:
        # Most often a day and a month swapped ("03/04"): refuse rather than keep a wrong date.
        raise ValidationError(
            {
                "received_on": _(
                    "This is before the pledge was made (%(day)s). Check the date: "
                    "year, then month, then day."
                )
                % {"day": date_format(pledge.pledged_on, "DATE_FORMAT")}
            }
        )
    payment = Payment(
        campaign=campaign,
        pledge=pledge,
        donor_name=donor_name,
        donor_email=donor_email,
        donor_address=donor_address,
        amount=amount,
        received_on=received_on,
        method=method,
        method_reference=method_reference,
        advantage_amount=advantage_amount,
        advantage_description=advantage_description,
        is_private_benevolence=is_private_benevolence,
        notes=notes,
        recorded_by=recorded_by,
        external_id=external_id,
        via_qualified_donee=via_qualified_donee,
    )
    payment.full_clean()
    if payment.advantage_amount > payment.amount:
        raise ValidationError({"advantage_amount": _("The advantage cannot exceed the gift.")})
    payment.save()
    if pledge is not None:
        status = _pledge_status_from_payments(pledge)
        if status != pledge.status:
            pledge.status = status
            pledge.save(update_fields=["status"])
        if pledge.confirmed_at is None:  # money received is the surest confirmation
            _mark_confirmed(pledge, timezone.now())
    transaction.on_commit(lambda: selectors.campaign_totals_invalidate(campaign.pk))
    logger.info("payment %s recorded (pledge %s)", payment.pk, pledge.reference if pledge else "-")
    return payment


# --- receipts ----------------------------------------------------------------------------


receipt_advantage = rules.gift_advantage  # the name the admin's tools and tests know


def receipt_refusal(payment: Payment) -> str | None:
    """Why CRA forbids receipting this payment, in words a person can act on; None if allowed."""
    if payment.via_qualified_donee:
        return _(
            "This gift came through %(donee)s, a qualified donee that issues its own receipt: "
            "HanVoice never receipts it."
        ) % {"donee": payment.via_qualified_donee}
    if payment.refunded_amount > 0 or payment.disputed_at is not None:
        return _("This card payment was refunded or disputed: it cannot be receipted.")
    if payment.is_private_benevolence:
        return _(
            "This gift is directed to a family (private benevolence): CRA does not allow an "
            "official receipt for it."
        )
    if not payment.donor_address.strip():
        return _("The donor's postal address is missing: add it to the payment first.")
    if not payment.donor_name.strip():
        return _("The donor's full name is missing: add it to the payment first.")
    if rules.advantage_too_large(payment.amount, payment.advantage_amount):
        return _(
            # xgettext:no-python-format
            "The advantage is more than 80% of the gift: CRA does not allow an official receipt."
        )
    return None


def _next_serial(key: str) -> int:
    """Lock the charity's counter row and take the next serial (call inside a transaction)."""
    ReceiptSequence.objects.bulk_create([ReceiptSequence(key=key)], ignore_conflicts=True)
    sequence = ReceiptSequence.objects.select_for_update().get(key=key)
    sequence.last_serial += 1
    sequence.save(update_fields=["last_serial"])
    return sequence.last_serial


def _receipt_create(
    *, payments: list[Payment], kind: str, issued_by: User | None, **fields: Any
) -> Receipt:
    charity = settings.CHARITY
    key = charity["registration_number"]
    if any(rules.advantage_too_large(p.amount, p.advantage_amount) for p in payments):
        raise ValidationError(
            _(
                # xgettext:no-python-format
                "The advantage is more than 80% of the gift: "
                "CRA does not allow an official receipt."
            )
        )
    amounts = rules.receipt_amounts((p.amount, p.advantage_amount) for p in payments)
    descriptions = sorted(
        {
            p.advantage_description
            for p in payments
            if p.advantage_description and rules.gift_advantage(p.amount, p.advantage_amount)
        }
    )
    receipt = Receipt(
        sequence_key=key,
        serial=_next_serial(key),
        kind=kind,
        payment=payments[0] if kind == Receipt.Kind.SINGLE else None,
        amount=amounts.amount,
        advantage_amount=amounts.advantage,
        advantage_description="; ".join(descriptions) if amounts.advantage else "",
        eligible_amount=amounts.eligible,
        charity_name=charity["name"],
        charity_address=charity["address"],
        charity_registration_number=key,
        place_issued=charity["receipt_location"],
        signatory=charity["signatory"],
        issued_on=timezone.localdate(),
        issued_by=issued_by,
        **fields,
    )
    if not receipt.language or "language" not in fields:
        receipt.language = _receipt_language(payments)
    receipt.pdf = b""
    receipt.full_clean(exclude=["pdf", "pdf_sha256", "payments"])
    receipt.save()
    receipt.payments.set(payments)  # before the PDF: a yearly receipt lists its gifts
    branding = ReceiptBranding.current()
    receipt.pdf = receipt_pdf(receipt, logo=branding.logo, signature=branding.signature)
    receipt.pdf_sha256 = hashlib.sha256(receipt.pdf).hexdigest()
    receipt.save(update_fields=["pdf", "pdf_sha256"])
    if receipt.donor_email:
        pledge = next((p.pledge for p in payments if p.pledge_id), None)
        row = DonorEmail.objects.create(
            kind=DonorEmail.Kind.RECEIPT, receipt=receipt, pledge=pledge, due_on=receipt.issued_on
        )
        _queue_emails([row.pk])
    logger.info("receipt %s issued (%s)", receipt.number, kind)
    return receipt


def _receipt_language(payments: list[Payment]) -> str:
    """The donor's language, from their pledges (the latest first); English otherwise."""
    for payment in reversed(payments):
        if payment.pledge is not None and payment.pledge.language:
            return payment.pledge.language.split("-")[0]
    return "en"


def _active_receipt_for(payment: Payment) -> Receipt | None:
    return payment.receipts.filter(cancelled_at__isnull=True).first()


@transaction.atomic
def receipt_issue(*, payment: Payment, issued_by: User | None = None) -> Receipt:
    """Issue the official receipt for one payment, or refuse with CRA's reason."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    refusal = receipt_refusal(payment)
    if refusal:
        raise ValidationError(refusal)
    existing = _active_receipt_for(payment)
    if existing is not None:
        raise ValidationError(
            _("This payment already has receipt No. %(number)s: use “cancel and replace”.")
            % {"number": existing.number}
        )
    return _receipt_create(
        payments=[payment],
        kind=Receipt.Kind.SINGLE,
        issued_by=issued_by,
        year=payment.received_on.year,
        gift_received_on=payment.received_on,
        donor_name=payment.donor_name,
        donor_address=payment.donor_address,
        donor_email=payment.donor_email,
    )


@transaction.atomic
def receipt_issue_yearly(*, donor_email: str, year: int, issued_by: User | None = None) -> Receipt:
    """One receipt combining a donor's receiptable, not yet receipted payments of `year`."""
    payments = list(
        selectors.payments_not_receipted()
        .filter(Q(donor_email__iexact=donor_email) | Q(pledge__email__iexact=donor_email))
        .filter(received_on__year=year)
        .select_for_update(of=("self",))
        .order_by("received_on", "pk")
    )
    if not donor_email or not payments:
        raise ValidationError(
            _("No payment of %(year)s from this donor is waiting for a receipt.") % {"year": year}
        )
    for payment in payments:
        refusal = receipt_refusal(payment)
        if refusal:
            raise ValidationError(
                _("Payment of %(date)s: %(reason)s")
                % {"date": date_format(payment.received_on, "DATE_FORMAT"), "reason": refusal}
            )
    latest = payments[-1]
    return _receipt_create(
        payments=payments,
        kind=Receipt.Kind.YEARLY,
        issued_by=issued_by,
        year=year,
        gift_received_on=None,
        donor_name=latest.donor_name,
        donor_address=latest.donor_address,
        donor_email=latest.donor_email or donor_email,
    )


def receipt_copy_pdf(receipt: Receipt) -> bytes:
    """The receipt drawn again, marked DUPLICATE (with today's logo and signature)."""
    branding = ReceiptBranding.current()
    return duplicate_pdf(receipt, logo=branding.logo, signature=branding.signature)


@transaction.atomic
def receipt_send_copy(*, receipt: Receipt) -> DonorEmail:
    """E-mail the donor a copy of an issued receipt, marked DUPLICATE (once a day at most)."""
    if receipt.is_cancelled or not receipt.donor_email:
        raise ValidationError(
            _("Receipt No. %(number)s is cancelled or has no e-mail address.")
            % {"number": receipt.number}
        )
    row, created = DonorEmail.objects.get_or_create(
        kind=DonorEmail.Kind.RECEIPT_COPY, receipt=receipt, due_on=timezone.localdate()
    )
    if created:
        _queue_emails([row.pk])
    return row


@dataclass
class YearEndReport:
    """What a year-end run issued, and what it did not issue and why (for staff)."""

    year: int
    issued: list[Receipt] = field(default_factory=list)
    would_issue: list[tuple[str, Decimal]] = field(default_factory=list)
    not_issued: list[tuple[str, str]] = field(default_factory=list)  # (who or which, why)


def _payment_label(payment: Payment) -> str:
    reference = payment.pledge.reference if payment.pledge is not None else f"#{payment.pk}"
    return f"{reference} ({payment.received_on.isoformat()}, {payment.amount})"


def receipts_year_end(*, year: int, issued_by=None, dry_run: bool = False) -> YearEndReport:
    """One yearly receipt per eligible donor for `year` (gift by gift: rules.py), e-mailed
    through the outbox; the report says what was not issued and why. Running it again issues
    nothing twice: receipted gifts are reported as such."""
    report = YearEndReport(year=year)
    payments = list(
        Payment.objects.filter(received_on__year=year)
        .select_related("pledge")
        .annotate(
            receipted=Exists(
                Receipt.objects.filter(payments=OuterRef("pk"), cancelled_at__isnull=True)
            )
        )
        .order_by("received_on", "pk")
    )
    donors: dict[str, list[Payment]] = {}
    for payment in payments:
        if payment.receipted:
            report.not_issued.append((_payment_label(payment), _("already receipted")))
            continue
        if payment.via_qualified_donee:
            reason = _("received through %(donee)s, which receipts it") % {
                "donee": payment.via_qualified_donee
            }
            report.not_issued.append((_payment_label(payment), reason))
            continue
        if payment.is_private_benevolence:
            report.not_issued.append(
                (_payment_label(payment), _("directed gift (private benevolence)"))
            )
            continue
        if payment.refunded_amount > 0 or payment.disputed_at is not None:
            report.not_issued.append((_payment_label(payment), _("refunded or disputed")))
            continue
        if payment.pledge is not None and not payment.pledge.wants_receipt:
            report.not_issued.append((_payment_label(payment), _("the donor declined a receipt")))
            continue
        pledge_email = payment.pledge.email if payment.pledge is not None else ""
        email = (payment.donor_email or pledge_email).lower()
        if not email:
            report.not_issued.append((_payment_label(payment), _("no e-mail address")))
            continue
        donors.setdefault(email, []).append(payment)
    for email, gifts in sorted(donors.items()):
        if not gifts[-1].donor_address.strip():
            report.not_issued.append((email, _("no postal address")))
            continue
        refusal = next((r for r in map(receipt_refusal, gifts) if r), None)
        if refusal:
            report.not_issued.append((email, refusal))
            continue
        if dry_run:
            amounts = rules.receipt_amounts((p.amount, p.advantage_amount) for p in gifts)
            report.would_issue.append((email, amounts.eligible))
            continue
        try:
            with transaction.atomic():
                report.issued.append(
                    _receipt_issue_for(gifts=gifts, email=email, year=year, issued_by=issued_by)
                )
        except ValidationError as exc:
            report.not_issued.append((email, " ".join(exc.messages)))
    logger.info(
        "year-end receipts %s: %s issued, %s not issued%s",
        year,
        len(report.issued),
        len(report.not_issued),
        " (dry run)" if dry_run else "",
    )
    return report


def _receipt_issue_for(*, gifts: list[Payment], email: str, year: int, issued_by) -> Receipt:
    locked = list(
        selectors.payments_not_receipted()
        .filter(pk__in=[p.pk for p in gifts])
        .select_for_update(of=("self",))
        .select_related("pledge")
        .order_by("received_on", "pk")
    )
    if len(locked) != len(gifts):
        raise ValidationError(_("Some of these gifts were receipted meanwhile."))
    latest = locked[-1]
    return _receipt_create(
        payments=locked,
        kind=Receipt.Kind.YEARLY,
        issued_by=issued_by,
        year=year,
        gift_received_on=None,
        donor_name=latest.donor_name,
        donor_address=latest.donor_address,
        donor_email=latest.donor_email or email,
    )


@transaction.atomic
def receipt_cancel_and_replace(
    *,
    receipt: Receipt,
    reason: str,
    issued_by=None,
    donor_name: str = "",
    donor_address: str = "",
) -> Receipt:
    """Mark `receipt` cancelled (kept forever) and issue a new serial that says so."""
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.is_cancelled:
        raise ValidationError(
            _("Receipt No. %(number)s is already cancelled.") % {"number": receipt.number}
        )
    if not reason.strip():
        raise ValidationError({"cancel_reason": _("Say why the receipt is replaced.")})
    payments = list(receipt.payments.order_by("received_on", "pk"))
    receipt.cancelled_at = timezone.now()
    receipt.cancel_reason = reason.strip()[:200]
    receipt.save(update_fields=["cancelled_at", "cancel_reason"])
    return _receipt_create(
        payments=payments,
        kind=receipt.kind,
        issued_by=issued_by,
        year=receipt.year,
        gift_received_on=receipt.gift_received_on,
        donor_name=donor_name.strip() or receipt.donor_name,
        donor_address=donor_address.strip() or receipt.donor_address,
        donor_email=receipt.donor_email,
        language=receipt.language,
        replaces=receipt,
    )


# --- donors (PIPEDA) ---------------------------------------------------------------------


def donor_export(*, email: str) -> dict:
    """Everything held about the donor with this e-mail address (an access request)."""
    pledges = selectors.donor_pledges(email).select_related("campaign")
    payments = selectors.donor_payments(email).select_related("pledge")
    receipts = Receipt.objects.filter(
        Q(donor_email__iexact=email) | Q(payments__in=payments)
    ).distinct()
    emails_sent = DonorEmail.objects.filter(
        Q(pledge__in=pledges) | Q(receipt__in=receipts)
    ).distinct()

    def pledge_data(p: Pledge) -> dict:
        return {
            "reference": p.reference,
            "campaign": p.campaign.name,
            "name": p.donor_name,
            "email": p.email,
            "postal_address": p.address,
            "wants_receipt": p.wants_receipt,
            "amount": str(p.amount),
            "frequency": p.frequency,
            "months": p.months,
            "status": p.status,
            "anonymous_on_donor_wall": p.is_anonymous,
            "public_message": p.public_message,
            "tribute": p.tribute_kind,
            "tribute_name": p.tribute_name,
            "consent_to_contact": p.consent_to_contact,
            "reminder_emails": p.reminders_enabled,
            "language": p.language,
            "pledged_on": p.pledged_on.isoformat(),
        }

    return {
        "email": email,
        "exported_at": timezone.now().isoformat(),
        "pledges": [pledge_data(p) for p in pledges],
        "payments": [
            {
                "pledge": p.pledge.reference if p.pledge else None,
                "name": p.donor_name,
                "email": p.donor_email,
                "postal_address": p.donor_address,
                "amount": str(p.amount),
                "received_on": p.received_on.isoformat(),
                "method": p.method,
                "advantage": str(p.advantage_amount),
                "notes": p.notes,
            }
            for p in payments
        ],
        "receipts": [
            {
                "number": r.number,
                "issued_on": r.issued_on.isoformat(),
                "name": r.donor_name,
                "postal_address": r.donor_address,
                "amount": str(r.amount),
                "eligible_amount": str(r.eligible_amount),
                "cancelled": r.is_cancelled,
            }
            for r in receipts
        ],
        "emails": [
            {"kind": e.kind, "for_date": e.due_on.isoformat(), "sent_at": _iso(e.sent_at)}
            for e in emails_sent
        ],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@transaction.atomic
def donor_anonymise(*, email: str) -> int:
    """Erase a donor's personal data on request; returns the number of pledges changed.

    Kept, because the law requires it: amounts, dates and methods of payments (financial
    records, 6 years), and issued receipts as issued (CRA: a copy of each receipt, unaltered,
    with the donor's name and address, 2 years after the calendar year). Payments covered by
    a receipt keep the name and address the receipt shows; all others lose them.
    """
    if not email.strip():
        raise ValidationError(_("Give the donor's e-mail address."))
    pledges = list(selectors.donor_pledges(email).select_for_update())
    payments = list(selectors.donor_payments(email).select_for_update(of=("self",)))
    now = timezone.now()
    anonymous_name = _("Anonymised donor")
    Pledge.objects.filter(pk__in=[p.pk for p in pledges]).update(
        donor_name=anonymous_name,
        email="",
        address="",
        public_message="",
        tribute_name="",
        is_anonymous=True,
        consent_to_contact=False,
        reminders_enabled=False,
        anonymised_at=now,
    )
    receipted = set(
        Receipt.objects.filter(payments__in=payments).values_list("payments", flat=True)
    )
    Payment.objects.filter(pk__in=[p.pk for p in payments]).update(donor_email="", notes="")
    Payment.objects.filter(pk__in=[p.pk for p in payments if p.pk not in receipted]).update(
        donor_name=anonymous_name, donor_address=""
    )
    # Nothing more goes to someone who asked to be forgotten.
    DonorEmail.objects.filter(
        pledge__in=pledges, sent_at__isnull=True, failed_at__isnull=True
    ).update(failed_at=now, last_error="donor anonymised")
    for campaign_id in {p.campaign_id for p in pledges}:
        transaction.on_commit(functools.partial(selectors.campaign_totals_invalidate, campaign_id))
    logger.info("donor anonymised: %s pledge(s), %s payment(s)", len(pledges), len(payments))
    return len(pledges)


# --- e-mails: rows first, claimed once, reconciled ---------------------------------------


# --- donor sign-in links (self-service, docs/fundraising.md) -------------------------------

DONOR_LINK_SALT = "fundraising.donor-link"
DONOR_LINK_MINUTES = 30
# A second request for the same address within this many minutes sends no second link.
DONOR_LINK_REPEAT_MINUTES = 3


def donor_link_url(link: DonorLink) -> str:
    token = signing.dumps(link.pk, salt=DONOR_LINK_SALT)
    return settings.SITE_URL + reverse("fundraising:donor-link", args=[token])


@transaction.atomic
def donor_link_request(*, email: str, language: str) -> None:
    """Write a sign-in link for `email` and, if we know the address, its e-mail row (sent by
    the outbox after commit). Unknown addresses get the same answer and nearly the same work:
    the link row is written either way; it can never be used without the e-mail."""
    email = email.strip().lower()
    # The same request sent again (Back and resubmit, a double click) within a few minutes
    # writes nothing: the link already on its way is the answer, one e-mail rather than one
    # per click. cache.add is atomic in the shared cache (the rate limits' too), so two clicks
    # arriving together cannot both pass; a donor who asks again later gets a new link.
    digest = hashlib.sha256(email.encode()).hexdigest()
    if not cache.add(f"donor-link-request:{digest}", True, DONOR_LINK_REPEAT_MINUTES * 60):
        logger.info("donor sign-in link asked for again within %s min", DONOR_LINK_REPEAT_MINUTES)
        return
    link = DonorLink.objects.create(email=email, language=language)
    if selectors.donor_pledges(email).exists() or selectors.donor_payments(email).exists():
        row = DonorEmail.objects.create(
            kind=DonorEmail.Kind.SIGN_IN, link=link, due_on=timezone.localdate()
        )
        _queue_emails([row.pk])
    logger.info("donor sign-in link %s requested", link.pk)


def donor_link_peek(token: str) -> DonorLink | None:
    """The unused, unexpired link a token names, or None (nothing is changed)."""
    try:
        pk = signing.loads(token, salt=DONOR_LINK_SALT, max_age=DONOR_LINK_MINUTES * 60)
    except signing.BadSignature:
        return None
    return DonorLink.objects.filter(pk=pk, used_at__isnull=True).first()


def donor_link_use(token: str) -> str | None:
    """Use a sign-in link (once: a conditional UPDATE decides); the donor's e-mail or None."""
    link = donor_link_peek(token)
    if link is None:
        return None
    used = DonorLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now())
    return link.email if used else None


def reminders_stop_token(pledge: Pledge) -> str:
    return signing.dumps(str(pledge.public_id), salt=STOP_SALT, compress=True)


def reminders_stop_url(pledge: Pledge) -> str:
    token = reminders_stop_token(pledge)
    return settings.SITE_URL + reverse("fundraising:reminders-stop", args=[token])


def reminders_stop(*, token: str) -> Pledge | None:
    """Turn off reminder e-mails for the pledge named by a signed token; None if invalid."""
    try:
        public_id = signing.loads(token, salt=STOP_SALT)
        pledge = Pledge.objects.get(public_id=uuid.UUID(public_id))
    except (signing.BadSignature, ValueError, TypeError, Pledge.DoesNotExist):
        return None
    if pledge.reminders_enabled:
        Pledge.objects.filter(pk=pledge.pk).update(reminders_enabled=False)
        pledge.reminders_enabled = False
        DonorEmail.objects.filter(
            pledge=pledge,
            kind__in=[DonorEmail.Kind.INSTALMENT_DUE, DonorEmail.Kind.LAPSED],
            claimed_at__isnull=True,
            sent_at__isnull=True,
            failed_at__isnull=True,
        ).update(failed_at=timezone.now(), last_error="reminders turned off by the donor")
        logger.info("reminders stopped for pledge %s", pledge.reference)
    return pledge


def _queue_emails(ids: list[int]) -> None:
    """After commit, wake the drain (core.outbox.wake): one task sends a burst of rows (a
    campaign's launch) instead of one task per pledge; a broker outage leaves them for the
    reconciler."""
    if ids:
        transaction.on_commit(lambda: outbox.wake(DRAIN_TASK, label="donor e-mail"))


def _recipients(row: DonorEmail) -> list[str]:
    if row.kind == DonorEmail.Kind.LAPSED_STAFF:
        users = get_user_model().objects.filter(
            is_active=True, is_staff=True, groups__name=FUNDRAISING
        )
        return sorted({u.email for u in users if u.email})
    if row.link is not None:
        return [row.link.email]
    if row.receipt is not None:
        return [row.receipt.donor_email] if row.receipt.donor_email else []
    return [row.pledge.email] if row.pledge and row.pledge.email else []


def _render_and_send(row: DonorEmail) -> None:
    pledge = row.pledge
    context: dict[str, object] = {"pledge": pledge, "receipt": row.receipt, "due_on": row.due_on}
    headers: dict[str, str] = {}
    attachments = []
    language = pledge.language if pledge else settings.LANGUAGE_CODE
    if row.link is not None:
        language = row.link.language
        context["sign_in_url"] = donor_link_url(row.link)
        context["minutes"] = DONOR_LINK_MINUTES
    if pledge is not None:
        context["thanks_url"] = settings.SITE_URL + reverse(
            "fundraising:pledge-thanks", args=[pledge.public_id]
        )
    if pledge is None:
        pass  # a sign-in link or a receipt copy: no pledge-specific part below
    elif row.kind == DonorEmail.Kind.CONFIRMATION and pledge.confirmed_at is None:
        context["confirm_url"] = pledge_confirm_url(pledge)
        context["confirm_days"] = confirm_days()
    elif row.kind in (DonorEmail.Kind.INSTALMENT_DUE, DonorEmail.Kind.LAPSED):
        stop_url = reminders_stop_url(pledge)
        context["stop_url"] = stop_url
        headers = {
            "List-Unsubscribe": f"<{stop_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    elif row.kind == DonorEmail.Kind.LAPSED_STAFF:
        language = settings.LANGUAGE_CODE
        context["admin_url"] = settings.SITE_URL + reverse(
            "admin:fundraising_pledge_change", args=[pledge.pk]
        )
    if row.receipt is not None:
        pdf = bytes(row.receipt.pdf)
        if row.kind == DonorEmail.Kind.RECEIPT_COPY:
            pdf = receipt_copy_pdf(row.receipt)
        attachments = [(f"receipt-{row.receipt.number}.pdf", pdf, "application/pdf")]
    to = _recipients(row)
    if not to:
        raise ValueError("no recipient")
    emails.send(
        row.kind,
        to,
        context,
        language=language,
        headers=headers,
        attachments=attachments,
        message_key=row.message_key,
    )


# The start of `last_error` on a row given up because it no longer mattered, not because
# sending failed: staff reading the row in the admin, and the bench's fault tests, can tell
# the two apart.
OBSOLETE = "obsolete: "


def _obsolete_reason(row: DonorEmail) -> str:
    """Why a reminder written earlier should no longer go out (empty: send it)."""
    pledge = row.pledge
    if pledge is not None and row.kind in (DonorEmail.Kind.INSTALMENT_DUE, DonorEmail.Kind.LAPSED):
        if not pledge.reminders_enabled:
            return f"{OBSOLETE}reminders turned off"
        if row.kind == DonorEmail.Kind.INSTALMENT_DUE and pledge.status not in Pledge.OPEN_STATUSES:
            return f"{OBSOLETE}pledge {pledge.status}"
    return ""


def _donor_email_row(pk: int) -> QuerySet[DonorEmail]:
    return DonorEmail.objects.select_related("pledge").filter(pk=pk)


_DONOR_EMAIL_ROW = OneIdQuery(_donor_email_row)


def donor_email_send(email_id: int, *, now: dt.datetime | None = None) -> bool:
    """Claim the row (core.outbox: only one worker wins) and send it. True if sent."""
    now = now or timezone.now()
    if not outbox.claim(DonorEmail, email_id, now=now):
        return False
    # The pledge with the row (nearly every e-mail has one); a receipt or a sign-in link, when
    # the row has one, is read when used: joining both tables on every row doubled the cost of
    # building this query, and it is compiled once per process (docs/performance.md, "Pledge
    # POST").
    found = _DONOR_EMAIL_ROW.objects(email_id)
    if not found:
        raise DonorEmail.DoesNotExist(f"DonorEmail {email_id} is gone")
    return _send_claimed(found[0], now=now)


def _send_claimed(row: DonorEmail, *, now: dt.datetime) -> bool:
    """Send a row this worker has claimed, or give it up or record the failure. True if sent."""
    obsolete = _obsolete_reason(row)
    if obsolete:
        outbox.give_up(DonorEmail, row.pk, reason=obsolete, now=now)
        return False
    try:
        _render_and_send(row)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, retried, then shown in admin
        outbox.record_failure(DonorEmail, row.pk, attempts=row.attempts, exc=exc, now=now)
        return False
    outbox.mark_sent(DonorEmail, row.pk)
    return True


def _send_claimed_batch(pks: list[int], now: dt.datetime) -> list[bool]:
    """A drain's batch, claimed already (core.outbox.claim_queued): read in one query with
    their pledges, then sent one by one, each marked sent as soon as it has gone."""
    rows = (
        DonorEmail.objects.select_related("pledge").filter(pk__in=pks).order_by("created_at", "pk")
    )
    return [_send_claimed(row, now=now) for row in rows]


def donor_emails_drain() -> int:
    """Send every row queued and never tried (core.outbox.drain). Returns how many were sent."""
    return outbox.drain(DonorEmail, DRAIN_TASK, _send_claimed_batch)[True]


def donor_emails_reconcile(*, now: dt.datetime | None = None) -> int:
    """Send rows never queued (broker down), claimed but not sent (worker died), or due for
    a retry (core.outbox.reconcile). Returns how many were sent."""
    now = now or timezone.now()
    outcomes = outbox.reconcile(DonorEmail, lambda pk: donor_email_send(pk, now=now), now=now)
    return outcomes[True]


def donor_reminder_sweep(today: dt.date | None = None) -> int:
    """Write the day's reminder rows (instalment due in 3 days; pledge lapsed) and queue them.

    Set-based: one query reads every open monthly pledge with what it has paid, one UPDATE
    marks lapsed pledges, one INSERT ... ON CONFLICT DO NOTHING writes the rows (the unique
    constraint makes re-running the sweep harmless). Returns the number of rows queued.
    """
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=REMINDER_DAYS_BEFORE)
    pledges = (
        # Paused gifts wait; card subscriptions are charged (and chased) by Stripe itself.
        Pledge.objects.filter(
            Pledge.counted_q(),
            frequency=Pledge.Frequency.MONTHLY,
            paused_at__isnull=True,
            stripe_subscription_id="",
        )
        .annotate(paid=selectors._money_sum(selectors.NET_VIA_PLEDGE))
        .only("pk", "amount", "months", "pledged_on", "email", "reminders_enabled", "status")
    )
    rows: list[DonorEmail] = []
    lapsed: list[int] = []
    for pledge in pledges:
        dues = pledge.due_dates()
        covered = int(pledge.paid // pledge.amount)
        can_email = bool(pledge.email) and pledge.reminders_enabled
        missed = sum(1 for due in dues if due < today) - covered
        lapsing = missed >= LAPSED_AFTER_MISSED
        for index, due in enumerate(dues):
            # The first gift is due the day of the pledge: the confirmation asks for it. A
            # pledge this sweep marks lapsed gets the lapsed e-mail, not a reminder of the next
            # instalment as well.
            if index >= max(covered, 1) and today < due <= horizon and can_email and not lapsing:
                rows.append(
                    DonorEmail(kind=DonorEmail.Kind.INSTALMENT_DUE, pledge=pledge, due_on=due)
                )
        if lapsing:
            lapsed.append(pledge.pk)
            second_missed = dues[covered + LAPSED_AFTER_MISSED - 1]
            rows.append(
                DonorEmail(kind=DonorEmail.Kind.LAPSED_STAFF, pledge=pledge, due_on=second_missed)
            )
            if can_email:
                rows.append(
                    DonorEmail(kind=DonorEmail.Kind.LAPSED, pledge=pledge, due_on=second_missed)
                )
    with transaction.atomic():
        if lapsed:
            Pledge.objects.filter(pk__in=lapsed).update(status=Pledge.Status.LAPSED)
        DonorEmail.objects.bulk_create(rows, ignore_conflicts=True)
        reminder_kinds = [
            DonorEmail.Kind.INSTALMENT_DUE,
            DonorEmail.Kind.LAPSED,
            DonorEmail.Kind.LAPSED_STAFF,
        ]
        ids = list(
            DonorEmail.objects.filter(
                kind__in=reminder_kinds,
                claimed_at__isnull=True,
                sent_at__isnull=True,
                failed_at__isnull=True,
            ).values_list("pk", flat=True)
        )
        _queue_emails(ids)
    if lapsed:
        for campaign_id in set(
            Pledge.objects.filter(pk__in=lapsed).values_list("campaign_id", flat=True)
        ):
            selectors.campaign_totals_invalidate(campaign_id)
    logger.info(
        "donor reminder sweep %s: %s lapsed, %s row(s) queued", today, len(lapsed), len(ids)
    )
    return len(ids)
