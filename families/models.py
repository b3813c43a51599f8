"""The family's case file: the most sensitive data in the system.

Identifying fields (names, dates of birth, contact details, location, narrative, notes,
consent details) are encrypted at rest with django-fernet-encrypted-fields, keyed by
settings.FIELD_ENCRYPTION_KEYS (newest first, so keys can rotate). A database dump alone
does not say who the families are. Everything outside the case file uses the case code.
Encrypted fields store an empty value as NULL, so blank-able ones are `null=True`.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.dates import add_months, shown
from core.encryption import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedTextField,
)


class CaseCodeSequence(models.Model):
    """The last case number used in a year: codes are never reused, even after deletion."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case code sequence")
        verbose_name_plural = _("case code sequences")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class FamilyQuerySet(models.QuerySet):
    def with_member_count(self) -> FamilyQuerySet:
        return self.annotate(member_count=models.Count("members", distinct=True))


class Family(models.Model):
    class Status(models.TextChoices):
        REFERRED = "referred", _("Referred")
        VETTING = "vetting", _("In IRCC vetting")
        APPROVED = "approved", _("Approved")
        MATCHED = "matched", _("Matched with a sponsor group")
        TRAVEL = "travel", _("Travel booked")
        ARRIVED = "arrived", _("Arrived in Canada")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case_code = models.CharField(
        _("case code"),
        max_length=20,
        unique=True,
        editable=False,
        help_text=_("Pseudonymous code; the only identifier used outside the case file."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REFERRED
    )
    ircc_reference = EncryptedCharField(
        _("IRCC vetting reference"), max_length=60, null=True, blank=True
    )
    vetted_on = models.DateField(_("IRCC vetting completed on"), null=True, blank=True)
    current_location = EncryptedCharField(
        _("current location"),
        max_length=120,
        null=True,
        blank=True,
        help_text=_("Where the family is now (e.g. Bangkok). Never shown outside the case file."),
    )
    community = models.CharField(
        _("community of settlement"), max_length=120, blank=True, help_text=_("e.g. Toronto")
    )
    languages = models.CharField(_("languages"), max_length=120, blank=True, default="Korean")
    interpreter_needed = models.BooleanField(_("interpreter needed"), default=True)
    # Priority flags and narrative are need-to-know (docs/architecture.md, "Who may see what").
    sgbv_survivor = models.BooleanField(_("SGBV survivor"), default=False)
    single_parent = models.BooleanField(_("single parent"), default=False)
    medical_priority = models.BooleanField(_("medical priority"), default=False)
    narrative = EncryptedTextField(_("narrative"), null=True, blank=True)
    # Shared with the sponsor group only while a matching consent is active.
    medical_needs = EncryptedTextField(_("medical needs"), null=True, blank=True)
    sgbv_notes = EncryptedTextField(_("SGBV-related notes"), null=True, blank=True)
    contact_phone = EncryptedCharField(_("contact phone"), max_length=40, null=True, blank=True)
    contact_email = EncryptedEmailField(_("contact e-mail"), null=True, blank=True)
    address = EncryptedTextField(_("address in Canada"), null=True, blank=True)

    case_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case worker"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="families_assigned",
        limit_choices_to={"is_staff": True},
    )
    archived_on = models.DateField(
        _("archived on"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Identifying data erased under the retention policy; statistics remain."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = FamilyQuerySet.as_manager()

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")
        ordering = ["case_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "referred",
                        "vetting",
                        "approved",
                        "matched",
                        "travel",
                        "arrived",
                        "closed",
                    ]
                ),
                name="families_family_status_valid",
            ),
            # IRCC vetting must be on file before a family can be approved or go further
            # (a referral withdrawn before vetting may still be closed).
            models.CheckConstraint(
                condition=Q(status__in=["referred", "vetting", "closed"])
                | Q(vetted_on__isnull=False),
                name="families_family_vetted_before_approval",
            ),
        ]

    def __str__(self) -> str:
        return self.case_code

    @property
    def principal_applicant(self) -> HouseholdMember | None:
        return next((m for m in self.members.all() if m.is_principal_applicant), None)


class FamilyStatusChange(models.Model):
    """Every status transition: who, when and why (written by the transition services)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Family.Status.choices)
    to_status = models.CharField(max_length=12, choices=Family.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.family} {self.from_status} → {self.to_status}"


def one_year_window_closes(principal_arrived_on: datetime.date) -> datetime.date:
    """The last day a dependant may arrive and still join the sponsorship: the same calendar
    day a year after the principal applicant arrived; after 29 February, 28 February (a
    year never longer than twelve calendar months: docs/domain.md "The One-Year Window")."""
    return add_months(principal_arrived_on, 12)


class HouseholdMember(models.Model):
    class Relationship(models.TextChoices):
        PRINCIPAL = "principal", _("Principal applicant")
        SPOUSE = "spouse", _("Spouse or partner")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SIBLING = "sibling", _("Sibling")
        OTHER = "other", _("Other relative")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="members")
    given_name = EncryptedCharField(_("given name"), max_length=100)
    family_name = EncryptedCharField(_("family name"), max_length=100, null=True, blank=True)
    date_of_birth = EncryptedDateField(_("date of birth"), null=True, blank=True)
    relationship = models.CharField(_("relationship"), max_length=10, choices=Relationship.choices)
    is_principal_applicant = models.BooleanField(_("principal applicant"), default=False)
    arrived_on = models.DateField(
        _("arrived in Canada on"),
        null=True,
        blank=True,
        help_text=_("Members may join later, within the One-Year Window."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")
        ordering = ["-is_principal_applicant", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=Q(is_principal_applicant=True),
                name="families_householdmember_one_principal",
            ),
        ]

    def __str__(self) -> str:
        # Never the name: __str__ ends up in logs, admin messages and history.
        return f"{self.family_id and self.family.case_code} · {self.get_relationship_display()}"

    def clean(self) -> None:
        """Exactly one principal applicant; no arrival in the future; the One-Year Window.

        Shared by `household_member_add` and the admin inline (which saves via the form).
        """
        super().clean()
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": _("A date of birth cannot be in the future.")})
        if self.arrived_on and self.arrived_on > timezone.localdate():
            raise ValidationError(
                {"arrived_on": _("An arrival cannot be recorded before it happens.")}
            )
        if not self.family_id:
            return
        others = HouseholdMember.objects.filter(family_id=self.family_id).exclude(pk=self.pk)
        principal = next((m for m in others if m.is_principal_applicant), None)
        if self.is_principal_applicant and principal is not None:
            raise ValidationError(
                {
                    "is_principal_applicant": _(
                        "This family already has a principal applicant; a family has exactly one."
                    )
                }
            )
        if (
            not self.is_principal_applicant
            and self.arrived_on
            and principal is not None
            and principal.arrived_on
        ):
            closes = one_year_window_closes(principal.arrived_on)
            if self.arrived_on > closes:
                raise ValidationError(
                    {
                        "arrived_on": _(
                            "This member arrived more than 12 months after the principal "
                            "applicant (the One-Year Window closed on %(day)s), so they cannot "
                            "join this sponsorship; they need their own application."
                        )
                        % {"day": shown(closes)}
                    }
                )

    def age_on(self, day: datetime.date) -> int | None:
        if not self.date_of_birth:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class ConsentQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None) -> ConsentQuerySet:
        """Given, not expired, not withdrawn on `on` (today in the program's time zone)."""
        on = on or timezone.localdate()
        return self.filter(given_on__lte=on, expires_on__gte=on).filter(
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on)
        )


class Consent(models.Model):
    """What the family agreed may be shared, with whom, for how long. Sharing follows consent."""

    class Topic(models.TextChoices):
        MEDICAL = "medical", _("Medical needs")
        SGBV = "sgbv", _("SGBV-related notes")
        CONTACT = "contact", _("Contact details")

    class Audience(models.TextChoices):
        SPONSOR_GROUP = "sponsor_group", _("The matched sponsor group")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="consents")
    topic = models.CharField(_("what may be shared"), max_length=10, choices=Topic.choices)
    audience = models.CharField(
        _("with whom"), max_length=20, choices=Audience.choices, default=Audience.SPONSOR_GROUP
    )
    given_on = models.DateField(_("given on"))
    expires_on = models.DateField(_("expires on"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    details = EncryptedTextField(
        _("details"), null=True, blank=True, help_text=_("How consent was given, any limits.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("given_on")),
                name="families_consent_expires_after_given",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("given_on")),
                name="families_consent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} · {self.get_topic_display()}"

    def clean(self) -> None:
        super().clean()
        if self.given_on and self.given_on > timezone.localdate():
            raise ValidationError({"given_on": _("Consent cannot be given in the future.")})
        if self.given_on and self.expires_on and self.expires_on <= self.given_on:
            raise ValidationError(
                {"expires_on": _("Consent must expire after the day it was given.")}
            )
        if self.withdrawn_on and self.given_on and self.withdrawn_on < self.given_on:
            raise ValidationError(
                {"withdrawn_on": _("Consent cannot be withdrawn before it was given.")}
            )

    def is_active(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        withdrawn = self.withdrawn_on is not None and self.withdrawn_on <= on
        return self.given_on <= on <= self.expires_on and not withdrawn


class CaseNote(models.Model):
    class Visibility(models.TextChoices):
        STAFF = "staff", _("Staff only")
        GROUP = "group", _("Shared with the sponsor group")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_on = models.DateField(_("date"), default=timezone.localdate)
    text = EncryptedTextField(_("note"))
    visibility = models.CharField(
        _("visibility"), max_length=5, choices=Visibility.choices, default=Visibility.STAFF
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["-written_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.family} · {self.written_on}"


class CaseFileAccess(models.Model):
    """Who viewed, listed, changed, exported or downloaded a case file: when, on which page,
    and, for a file not assigned to them, the reason they gave ("break the glass")."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        LIST = "list", _("Listed")
        CHANGE = "change", _("Changed")
        EXPORT = "export", _("Exported")
        DOWNLOAD = "download", _("Downloaded")
        BREAK_GLASS = "glass", _("Opened without being assigned")

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_file_accesses"
    )
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.VIEW)
    page = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = EncryptedTextField(_("reason given"), null=True, blank=True)

    class Meta:
        verbose_name = _("case file access")
        verbose_name_plural = _("case file access log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["family", "-at"], name="families_access_family_at")]

    def __str__(self) -> str:
        return f"{self.family} {self.action} {self.at:%Y-%m-%d %H:%M}"
