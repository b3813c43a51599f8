"""Evidence a sponsorship must be able to show: documents (receipts, proof of payment,
leases, signed forms, photos) and the settlement plan each group member acknowledged.

A document's bytes never sit in storage as the file: they are encrypted with the case-file
keys (core.keys) before they reach the storage backend, and its original name is an
encrypted field. Nothing is served before clamd called it clean (docs/documents.md).
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.encryption import EncryptedCharField
from families.models import Family
from sponsorship.models import Disbursement, InKindItem, Milestone, Review, Sponsorship

TARGETS = ("case_file", "disbursement", "milestone", "in_kind_item", "review")

# A settlement plan signature counts for this many days before the day it is checked
# against: the day the plan was submitted to IRCC, or today until then (docs/evidence.md).
ACKNOWLEDGEMENT_VALID_DAYS = 90


class DocumentQuerySet(models.QuerySet):
    def servable(self) -> DocumentQuerySet:
        return self.filter(status=Document.Status.CLEAN)


class Document(models.Model):
    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        PROOF_OF_PAYMENT = "payment", _("Proof of payment")
        LEASE = "lease", _("Lease")
        SIGNED_FORM = "form", _("Signed form")
        PHOTO = "photo", _("Photo")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        QUARANTINED = "quarantined", _("Waiting for the malware scan")
        CLEAN = "clean", _("Available")
        INFECTED = "infected", _("Refused: malware found")
        ERASED = "erased", _("Erased under the retention policy")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Whose case file this is (scope and retention); set by the service from the target.
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="documents")
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    # What the document is evidence of: exactly one of these.
    case_file = models.ForeignKey(
        Family, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    disbursement = models.ForeignKey(
        Disbursement, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    milestone = models.ForeignKey(
        Milestone, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    in_kind_item = models.ForeignKey(
        InKindItem, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    review = models.ForeignKey(
        Review, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RECEIPT)
    original_name = EncryptedCharField(_("file name"), max_length=255, null=True, blank=True)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    # The storage backend's name for the encrypted bytes: random, says nothing of the file.
    blob_name = models.CharField(max_length=200, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=11, choices=Status.choices, default=Status.QUARANTINED
    )
    scanned_at = models.DateTimeField(_("scanned at"), null=True, blank=True)
    signature = models.CharField(_("malware found"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    erased_on = models.DateField(_("erased on"), null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("uploaded documents")
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(case_file__isnull=False, disbursement__isnull=True)
                    & Q(milestone__isnull=True, in_kind_item__isnull=True, review__isnull=True)
                )
                | (
                    Q(case_file__isnull=True, disbursement__isnull=False)
                    & Q(milestone__isnull=True, in_kind_item__isnull=True, review__isnull=True)
                )
                | (
                    Q(case_file__isnull=True, disbursement__isnull=True)
                    & Q(milestone__isnull=False, in_kind_item__isnull=True, review__isnull=True)
                )
                | (
                    Q(case_file__isnull=True, disbursement__isnull=True)
                    & Q(milestone__isnull=True, in_kind_item__isnull=False, review__isnull=True)
                )
                | (
                    Q(case_file__isnull=True, disbursement__isnull=True)
                    & Q(milestone__isnull=True, in_kind_item__isnull=True, review__isnull=False)
                ),
                name="evidence_document_exactly_one_target",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["quarantined", "clean", "infected", "erased"]),
                name="evidence_document_status_valid",
            ),
            # Infected and erased files keep no bytes; the others always have them.
            models.CheckConstraint(
                condition=Q(status__in=["infected", "erased"], blob_name="")
                | (Q(status__in=["quarantined", "clean"]) & ~Q(blob_name="")),
                name="evidence_document_bytes_iff_kept",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="evidence_document_size_positive"),
        ]
        indexes = [
            models.Index(
                fields=["uploaded_at"],
                condition=Q(status="quarantined"),
                name="evidence_document_quarantine",
            ),
        ]

    def __str__(self) -> str:
        # Never the file name: __str__ reaches logs and admin messages.
        return f"{self.get_kind_display()} · {self.family.case_code if self.family_id else ''}"

    @property
    def target_name(self) -> str:
        return next(name for name in TARGETS if getattr(self, f"{name}_id"))

    @property
    def target_label(self) -> str:
        field = self._meta.get_field(self.target_name)
        return str(getattr(field, "verbose_name", self.target_name))

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
            self.content_type, "bin"
        )

    @property
    def download_name(self) -> str:
        """The original name, ending in its real type's suffix: a PDF sent as `invoice.exe`
        (the bytes decide the type) downloads as `invoice.exe.pdf`, so the reader's computer
        opens it as what it is."""
        name = self.original_name or str(self.public_id)
        suffix = PurePath(name).suffix.lower().lstrip(".")
        if suffix == self.extension or (suffix == "jpeg" and self.extension == "jpg"):
            return name
        return f"{name}.{self.extension}"


class PlanVersion(models.Model):
    """One rendering of a sponsorship's settlement plan, kept as it was: its content hash
    (over the plan's text: what the members sign), the PDF, and the SHA-256 of the PDF's
    bytes as they were stored, checked every time the PDF is read back (a file changed in
    storage is reported, never served: evidence/services.py `plan_version_pdf`)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.PROTECT, related_name="plan_versions"
    )
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64, editable=False)
    blob_name = models.CharField(max_length=200, editable=False)
    # Empty only for a version whose stored PDF could not be read when this field was added
    # (evidence/migrations/0003): such a PDF fails its check like a changed one.
    pdf_sha256 = models.CharField(_("PDF's SHA-256"), max_length=64, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("settlement plan version")
        verbose_name_plural = _("settlement plan versions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sponsorship", "content_hash"],
                name="evidence_planversion_one_per_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_hash[:12]} · {self.created_at:%Y-%m-%d}"


class PlanAcknowledgement(models.Model):
    """A group member's acknowledgement of one version: typed full name and the date."""

    version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    typed_name = EncryptedCharField(_("full name"), max_length=150)
    signed_on = models.DateField(_("date"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("settlement plan acknowledgement")
        ordering = ["-signed_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user"], name="evidence_planacknowledgement_once_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.signed_on}"


class PlanSubmission(models.Model):
    """HanVoice staff's record that one plan version went to IRCC (with the sponsorship
    application) on a date. One per version, made only when every current group member had
    acknowledged that version within the 90 days before the submission date
    (evidence.services.plan_submission_record); never changed or deleted afterwards."""

    version = models.OneToOneField(
        PlanVersion, on_delete=models.PROTECT, related_name="submission", editable=False
    )
    submitted_on = models.DateField(_("submitted to IRCC on"), editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("settlement plan submission to IRCC")
        verbose_name_plural = _("settlement plan submissions to IRCC")
        ordering = ["-submitted_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.version.content_hash[:12]} · {self.submitted_on}"

    def save(self, *args, **kwargs) -> None:
        # The record is evidence: written once (the service), never updated.
        if self.pk is not None:
            raise ValueError("A plan submission is kept as recorded and never changed.")
        super().save(*args, **kwargs)


class SponsorshipEvidence(Sponsorship):
    """A sponsorship seen as its evidence file in the admin (signatures, documents, pack)."""

    class Meta:
        proxy = True
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
