"""The $250,000 campaign and every dollar in it.

Money is Decimal (12 digits, 2 decimals); totals are `Sum()` aggregates in selectors.py,
never stored counters. Nothing here points at a family: a gift goes to the program (CRA).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from uuid import uuid4

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.dates import add_months
from core.money import MONEY_FIELD
from core.outbox import OutboxRow
from fundraising.rules import gift_advantage

MONEY = MONEY_FIELD
ZERO = Decimal("0.00")

# No 0/O, 1/I/L, U/V confusion: a reference read out over the phone or typed in an
# e-Transfer message survives.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"


def new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"HV-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class LocalText:
    """A campaign text in the page's language, or the English one with `lang` = "en"."""

    text: str
    lang: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text


# Campaign texts are written by staff in English, French and Korean (plain per-language
# fields, no translation library: four texts, three languages). A missing French or Korean
# text falls back to English, marked lang="en" on the page (docs/fundraising.md).
CONTENT_LANGUAGES = ("fr", "ko")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_ko = models.CharField(_("name (Korean)"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    goal = models.DecimalField(_("goal"), **MONEY)
    cost_per_family = models.DecimalField(
        _("cost per family"), **MONEY, help_text=_("Used for “families this funds”.")
    )
    families_goal = models.PositiveSmallIntegerField(_("families it aims to fund"), default=5)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    summary = models.CharField(_("one-line summary"), max_length=300, blank=True)
    summary_fr = models.CharField(_("one-line summary (French)"), max_length=300, blank=True)
    summary_ko = models.CharField(_("one-line summary (Korean)"), max_length=300, blank=True)
    story = models.TextField(
        _("story"), blank=True, help_text=_("Paragraphs, separated by a blank line.")
    )
    story_fr = models.TextField(_("story (French)"), blank=True)
    story_ko = models.TextField(_("story (Korean)"), blank=True)
    thanks_text = models.TextField(
        _("thank-you text"), blank=True, help_text=_("Shown to donors after they pledge.")
    )
    thanks_text_fr = models.TextField(_("thank-you text (French)"), blank=True)
    thanks_text_ko = models.TextField(_("thank-you text (Korean)"), blank=True)
    suggested_amounts = models.CharField(
        _("suggested amounts"),
        max_length=100,
        default="25,50,100,250",
        help_text=_("Whole dollars, comma-separated, e.g. 25,50,100,250."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    auto_approve_wall = models.BooleanField(
        _("approve plain wall entries automatically"),
        default=False,
        help_text=_(
            "Show confirmed gifts that have no message and no tribute on the donor wall without "
            "review (the donor's name, or “Anonymous”). Entries with a message or a tribute "
            "always wait for a staff member's approval."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "-starts_on"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(goal__gt=0), name="fundraising_campaign_goal_positive"
            ),
            models.CheckConstraint(
                condition=Q(cost_per_family__gt=0),
                name="fundraising_campaign_cost_per_family_positive",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="fundraising_campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def suggested_amount_list(self) -> list[int]:
        return [int(part) for part in self.suggested_amounts.split(",") if part.strip().isdigit()]

    def local(self, field: str, language: str | None = None) -> LocalText:
        """`field` ("name", "summary", "story", "thanks_text") in `language` (default: the
        active one), falling back to English."""
        language = (language or get_language() or settings.LANGUAGE_CODE).split("-")[0]
        if language in CONTENT_LANGUAGES:
            text = getattr(self, f"{field}_{language}")
            if text.strip():
                return LocalText(text, language, False)
        return LocalText(getattr(self, field), "en", language != "en")

    @property
    def title_local(self) -> LocalText:
        return self.local("name")

    @property
    def summary_local(self) -> LocalText:
        return self.local("summary")

    @property
    def thanks_local(self) -> LocalText:
        return self.local("thanks_text")

    @property
    def story_local(self) -> LocalText:
        return self.local("story")

    def story_paragraphs(self) -> list[str]:
        story = self.local("story").text
        return [p.strip() for p in story.split("\n\n") if p.strip()]


class Pledge(models.Model):
    class Frequency(models.TextChoices):
        ONE_TIME = "one_time", _("One-time")
        MONTHLY = "monthly", _("Monthly")

    class Status(models.TextChoices):
        PLEDGED = "pledged", _("Pledged")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")
        LAPSED = "lapsed", _("Lapsed")
        EXPIRED = "expired", _("Expired (never confirmed)")

    class Tribute(models.TextChoices):
        NONE = "", _("No tribute")
        HONOUR = "honour", _("In honour of")
        MEMORY = "memory", _("In memory of")

    OPEN_STATUSES = (Status.PLEDGED, Status.PARTLY_PAID)
    COUNTED_STATUSES = (Status.PLEDGED, Status.PARTLY_PAID, Status.FULFILLED)

    public_id = models.UUIDField(default=uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=12, unique=True, default=new_reference)
    idempotency_key = models.UUIDField(unique=True, editable=False, null=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="pledges", verbose_name=_("campaign")
    )
    donor_name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    address = models.TextField(_("postal address"), max_length=400, blank=True)
    wants_receipt = models.BooleanField(_("wants a tax receipt"), default=True)
    amount = models.DecimalField(_("amount per gift"), **MONEY)
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.ONE_TIME
    )
    months = models.PositiveSmallIntegerField(_("months"), default=1)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLEDGED
    )
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    public_message = models.CharField(_("public message"), max_length=280, blank=True)
    tribute_kind = models.CharField(
        _("tribute"), max_length=6, choices=Tribute.choices, default=Tribute.NONE, blank=True
    )
    tribute_name = models.CharField(_("tribute to"), max_length=120, blank=True)
    consent_to_contact = models.BooleanField(_("consents to be contacted"), default=False)
    reminders_enabled = models.BooleanField(_("reminder e-mails"), default=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(_("pledged at"), auto_now_add=True)
    pledged_on = models.DateField(_("pledged on"))
    # A pledge counts toward "pledged" once the donor confirms it from the e-mailed link or a
    # payment arrives (docs/fundraising.md); until then it is only a claim anyone could make.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # Name, message and tribute reach the public wall only once approved.
    wall_approved_at = models.DateTimeField(_("approved for the wall at"), null=True, blank=True)
    wall_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved for the wall by"),
    )
    # Staff looked at the entry and kept it off the wall: no longer "waiting for review".
    wall_declined_at = models.DateTimeField(_("declined for the wall at"), null=True, blank=True)
    wall_declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declined for the wall by"),
    )
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Card gifts (Stripe Checkout / Billing; docs/fundraising.md). The ids tie webhook events
    # back to the pledge; money enters the books only from those events.
    pays_by_card = models.BooleanField(_("pays by card"), default=False)
    cover_fee = models.BooleanField(_("adds the card processing fee"), default=False)
    stripe_checkout_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_subscription_id = models.CharField(
        _("Stripe subscription"), max_length=255, blank=True, db_index=True
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True, editable=False)
    renewal_failed_at = models.DateTimeField(
        _("last card renewal failed at"), null=True, blank=True
    )
    paused_at = models.DateTimeField(_("paused by the donor at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="fundraising_pledge_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(months__gte=1, months__lte=36), name="fundraising_pledge_months_1_36"
            ),
            models.CheckConstraint(
                condition=~Q(frequency="one_time") | Q(months=1),
                name="fundraising_pledge_one_time_is_one_month",
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=["one_time", "monthly"]),
                name="fundraising_pledge_frequency_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pledged",
                        "partly_paid",
                        "fulfilled",
                        "cancelled",
                        "lapsed",
                        "expired",
                    ]
                ),
                name="fundraising_pledge_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(wall_approved_at__isnull=True) | Q(wall_declined_at__isnull=True),
                name="fundraising_pledge_wall_approved_or_declined",
            ),
        ]
        indexes = [
            # The donor wall and the totals: "pledges of this campaign, newest first".
            models.Index(fields=["campaign", "-created_at"], name="fundraising_pledge_wall_idx"),
            # The reminder sweep: "open monthly pledges".
            models.Index(fields=["frequency", "status"], name="fundraising_pledge_sweep_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def total(self) -> Decimal:
        return self.amount * self.months

    def due_dates(self) -> list[dt.date]:
        """When each gift is expected: the pledge day, then the same day of each next month."""
        return [add_months(self.pledged_on, i) for i in range(self.months)]

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @staticmethod
    def counted_q() -> Q:
        """Pledges that count toward "pledged": open, and confirmed (a payment confirms too)."""
        return Q(status__in=list(Pledge.OPEN_STATUSES), confirmed_at__isnull=False)

    def public_name(self) -> str:
        return str(_("Anonymous")) if self.is_anonymous else self.donor_name


class Payment(models.Model):
    class Method(models.TextChoices):
        CHEQUE = "cheque", _("Cheque")
        ETRANSFER = "etransfer", _("Interac e-Transfer")
        CASH = "cash", _("Cash")
        CARD = "card", _("Card")
        DONEE = "donee", _("Through a qualified donee (CanadaHelps, Benevity)")

    public_id = models.UUIDField(default=uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="payments", verbose_name=_("campaign")
    )
    pledge = models.ForeignKey(
        Pledge,
        on_delete=models.PROTECT,
        related_name="payments",
        null=True,
        blank=True,
        verbose_name=_("pledge"),
    )
    donor_name = models.CharField(_("donor name"), max_length=120)
    donor_email = models.EmailField(_("donor e-mail"), blank=True)
    donor_address = models.TextField(_("donor postal address"), max_length=400, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    received_on = models.DateField(_("received on"))
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    method_reference = models.CharField(
        _("cheque no. / transfer reference"), max_length=60, blank=True
    )
    advantage_amount = models.DecimalField(_("advantage value"), **MONEY, default=ZERO)
    advantage_description = models.CharField(_("advantage description"), max_length=200, blank=True)
    is_private_benevolence = models.BooleanField(
        _("directed to a family (private benevolence)"),
        default=False,
        help_text=_("Gifts directed to a named person or family cannot be receipted (CRA)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # The payment's id at its source (a Stripe invoice or payment intent, a bank transaction):
    # the same money arriving twice is refused by the unique constraint.
    external_id = models.CharField(_("id at the source"), max_length=255, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=ZERO)
    # A gift made through another qualified donee (CanadaHelps, Benevity): it counts for the
    # campaign and the donor's history, and that donee issues the receipt, never HanVoice.
    via_qualified_donee = models.CharField(
        _("received through (qualified donee)"), max_length=40, blank=True
    )
    disputed_at = models.DateTimeField(_("disputed at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="fundraising_payment_external_id_once",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="fundraising_payment_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="fundraising_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(advantage_amount__gte=0) & Q(advantage_amount__lte=F("amount")),
                name="fundraising_payment_advantage_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(method__in=["cheque", "etransfer", "cash", "card", "donee"]),
                name="fundraising_payment_method_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount} ({self.get_method_display()})"

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class StripeEvent(models.Model):
    """Each Stripe webhook event, once: the unique event id makes a replay change nothing."""

    class Outcome(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        IGNORED = "ignored", _("Nothing to do")
        UNMATCHED = "unmatched", _("No matching pledge or payment: for staff")

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=80)
    created = models.DateTimeField(_("created at Stripe"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    pledge = models.ForeignKey(
        Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="stripe_events"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="stripe_events"
    )
    payload = models.JSONField(_("payload"))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["recorded", "ignored", "unmatched"]),
                name="fundraising_stripeevent_outcome_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ReceiptSequence(models.Model):
    """One counter row per charity numbering: locked (SELECT ... FOR UPDATE) to hand out serials.

    A sequence object would leave gaps on rollback; a locked row does not.
    """

    key = models.CharField(max_length=40, unique=True)
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("receipt sequence")
        verbose_name_plural = _("receipt sequences")

    def __str__(self) -> str:
        return f"{self.key}: {self.last_serial}"


class Receipt(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single gift")
        YEARLY = "yearly", _("Yearly (combined)")

    public_id = models.UUIDField(default=uuid4, unique=True, editable=False)
    sequence_key = models.CharField(max_length=40, editable=False)
    serial = models.PositiveIntegerField(_("serial number"), editable=False)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    # For a single-gift receipt: the payment (one active receipt per payment, see constraint).
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="single_receipts"
    )
    payments = models.ManyToManyField(Payment, related_name="receipts", verbose_name=_("payments"))
    year = models.PositiveSmallIntegerField(_("year"))
    gift_received_on = models.DateField(_("gift received on"), null=True, blank=True)
    donor_name = models.CharField(_("donor name"), max_length=120)
    donor_address = models.TextField(_("donor address"))
    donor_email = models.EmailField(_("donor e-mail"), blank=True)
    # The donor's language: English or French wording (CRA's languages); Korean labels are
    # added beside the English ones for Korean-speaking donors.
    language = models.CharField(_("language"), max_length=8, default="en")
    amount = models.DecimalField(_("amount of gift"), **MONEY)
    advantage_amount = models.DecimalField(_("advantage value"), **MONEY, default=ZERO)
    advantage_description = models.CharField(_("advantage description"), max_length=200, blank=True)
    eligible_amount = models.DecimalField(_("eligible amount"), **MONEY)
    charity_name = models.CharField(max_length=200)
    charity_address = models.CharField(max_length=300)
    charity_registration_number = models.CharField(max_length=40)
    place_issued = models.CharField(_("place issued"), max_length=120)
    signatory = models.CharField(_("authorised signatory"), max_length=120)
    issued_on = models.DateField(_("issued on"))
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    # CRA: computer-made receipts must not be alterable. The PDF is made once, kept, hashed.
    pdf = models.BinaryField(editable=False)
    pdf_sha256 = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-serial"]
        verbose_name = _("official receipt")
        verbose_name_plural = _("official receipts")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence_key", "serial"], name="fundraising_receipt_unique_serial"
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(cancelled_at__isnull=True, payment__isnull=False),
                name="fundraising_receipt_one_active_per_payment",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="fundraising_receipt_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(eligible_amount=F("amount") - F("advantage_amount")),
                name="fundraising_receipt_eligible_is_amount_minus_advantage",
            ),
            models.CheckConstraint(
                condition=Q(serial__gte=1), name="fundraising_receipt_serial_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind="yearly") | Q(payment__isnull=False),
                name="fundraising_receipt_single_has_payment",
            ),
        ]

    def __str__(self) -> str:
        return _("Receipt No. %(number)s") % {"number": self.number}

    @property
    def number(self) -> str:
        return f"{self.serial:06d}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def gift_lines(self) -> list[tuple[dt.date, Decimal, Decimal]]:
        """(received on, amount, advantage that counts) of each gift a yearly receipt covers."""
        return [
            (p.received_on, p.amount, gift_advantage(p.amount, p.advantage_amount))
            for p in self.payments.order_by("received_on", "pk")
        ]


class ReceiptBranding(models.Model):
    """The charity's logo and the signatory's signature, uploaded by staff, drawn on receipts
    issued from then on (a receipt's PDF never changes once issued). One row."""

    logo = models.BinaryField(_("logo (PNG or JPEG)"), blank=True)
    signature = models.BinaryField(_("signature (PNG or JPEG)"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("receipt logo and signature")
        verbose_name_plural = _("receipt logo and signature")

    def __str__(self) -> str:
        return str(_("Receipt logo and signature"))

    @classmethod
    def current(cls) -> ReceiptBranding:
        return cls.objects.order_by("pk").first() or cls()


class DonorLink(models.Model):
    """A sign-in link e-mailed to a donor: signed (the token is never stored), short-lived,
    used once (docs/fundraising.md). A row is written for every request, known address or
    not, so that both cost the same."""

    email = models.EmailField(_("e-mail"), max_length=254)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("donor sign-in link")
        verbose_name_plural = _("donor sign-in links")

    def __str__(self) -> str:
        return f"link {self.pk}"


class DonorEmail(OutboxRow):
    """An e-mail to a donor (or to fundraising staff about a pledge): a row first, then sent.

    The unique constraints say what each row is for, so a sweep that runs twice, or two
    workers, cannot send the same thing twice; the delivery fields and the claim come from
    `core.outbox.OutboxRow` (docs/architecture.md, "The outbox").
    """

    MESSAGE_KEY_PREFIX = "donor-email"

    class Kind(models.TextChoices):
        CONFIRMATION = "pledge-confirmation", _("Pledge confirmation")
        RECEIPT = "receipt", _("Official receipt")
        INSTALMENT_DUE = "pledge-instalment-due", _("Instalment due")
        LAPSED = "pledge-lapsed", _("Pledge lapsed (donor)")
        LAPSED_STAFF = "pledge-lapsed-staff", _("Pledge lapsed (staff)")
        SIGN_IN = "donor-sign-in", _("Donor sign-in link")
        RECEIPT_COPY = "receipt-copy", _("Copy of a receipt (duplicate)")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    pledge = models.ForeignKey(
        Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    receipt = models.ForeignKey(
        Receipt, on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    link = models.OneToOneField(
        DonorLink, on_delete=models.PROTECT, null=True, blank=True, related_name="email_row"
    )
    due_on = models.DateField(_("for date"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("donor e-mail")
        verbose_name_plural = _("donor e-mails")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "pledge", "due_on"],
                condition=Q(receipt__isnull=True, link__isnull=True),
                name="fundraising_donoremail_once_per_pledge_and_date",
            ),
            models.UniqueConstraint(
                fields=["kind", "receipt", "due_on"],
                condition=Q(receipt__isnull=False),
                name="fundraising_donoremail_once_per_receipt_and_date",
            ),
            models.CheckConstraint(
                condition=Q(pledge__isnull=False)
                | Q(receipt__isnull=False)
                | Q(link__isnull=False),
                name="fundraising_donoremail_has_subject",
            ),
        ]
        indexes = [
            # The reconciler: "not sent, not given up", scanned every 10 minutes.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
                name="fundraising_email_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on}"
