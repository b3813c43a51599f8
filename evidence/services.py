"""Writes for documents: upload (check, scan, encrypt, store), the quarantine scan, and
erasure with the case file (docs/documents.md).

Who may upload what is the view's job (evidence/access.py); these services enforce what
must hold whoever calls them: the file's name, size and bytes, a clean scan before anything
is served, and exactly one thing the document is evidence of.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clamav import ScannerUnavailable, ScanResult, scan_bytes
from evidence import files
from evidence.models import (
    ACKNOWLEDGEMENT_VALID_DAYS,
    Document,
    PlanAcknowledgement,
    PlanSubmission,
    PlanVersion,
)
from evidence.plan import plan_content, plan_pdf
from evidence.selectors import SignatureStatus, signature_statuses
from families.models import Family
from sponsorship.models import Disbursement, InKindItem, Milestone, Review, Sponsorship

logger = logging.getLogger(__name__)

Target = Family | Disbursement | Milestone | InKindItem | Review


class UploadedFileLike(Protocol):
    name: str
    size: int

    def read(self, size: int = -1) -> bytes: ...


def _target_fields(target: Target) -> dict:
    """The target's foreign key, and the family and sponsorship whose scope it is in."""
    if isinstance(target, Family):
        return {"case_file": target, "family": target, "sponsorship": None}
    sponsorship = target.sponsorship
    name = {
        Disbursement: "disbursement",
        Milestone: "milestone",
        InKindItem: "in_kind_item",
        Review: "review",
    }[type(target)]
    return {name: target, "family_id": sponsorship.family_id, "sponsorship": sponsorship}


def _scan(data: bytes) -> ScanResult | None:
    """clamd's verdict; None when no scanner is configured (development)."""
    if not settings.CLAMAV_SOCKET:
        return None
    return scan_bytes(settings.CLAMAV_SOCKET, data, timeout=settings.CLAMAV_TIMEOUT)


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check and the scan, not yet kept."""

    data: bytes
    status: str
    fields: dict


def document_check(
    *, target: Target, kind: str, uploaded_file: UploadedFileLike, user
) -> CheckedUpload:
    """Check and scan one upload (and convert a phone's HEIC photo); a ValidationError (on
    "file") otherwise. Nothing is kept yet, except the record of an infected file.

    Not in a transaction on purpose: an infected upload is refused *and* its refusal is kept
    for staff, so that row must survive the error raised to the person uploading (and the
    portal's write-once token, which rolls back with a refusal, wraps only `document_keep`).
    """
    try:
        name = files.check_upload_name(uploaded_file)
        files.check_size(uploaded_file.size)
        data = uploaded_file.read(settings.DOCUMENT_MAX_BYTES + 1)
        files.check_size(len(data))
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    fields = {
        **_target_fields(target),
        "kind": kind,
        "original_name": name,
        "size": len(data),
        "uploaded_by": user,
    }
    # The scanner sees every upload first, whatever its type: malware is recorded for staff
    # even when the type check would have refused the file anyway.
    try:
        verdict, status = _scan(data), Document.Status.CLEAN
    except ScannerUnavailable as exc:
        # Kept, encrypted, and served to no one until the beat task scans it.
        logger.warning("malware scanner unreachable, upload quarantined: %s", exc)
        verdict, status = None, Document.Status.QUARANTINED
    if verdict is not None and verdict.infected:
        _document_record_infected(
            fields={**fields, "content_type": "application/octet-stream"},
            signature=verdict.signature,
        )
        raise ValidationError(
            {"file": _("This file contains malware and was refused. HanVoice staff were told.")}
        )
    try:
        # A phone's HEIC photo becomes a JPEG before anything is kept (docs/documents.md).
        data, name = files.convert_phone_photo(data, name)
        files.check_size(len(data))
        content_type = files.check_content(data)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    return CheckedUpload(
        data=data,
        status=status,
        fields={
            **fields,
            "original_name": name,
            "size": len(data),
            "content_type": content_type,
            "scanned_at": timezone.now() if verdict else None,
        },
    )


def document_keep(checked: CheckedUpload) -> Document:
    """Encrypt and store a checked upload, and its row."""
    return _document_store(checked.data, status=checked.status, fields=checked.fields)


def document_upload(
    *, target: Target, kind: str, uploaded_file: UploadedFileLike, user
) -> Document:
    """Check, scan, encrypt and keep one upload; a ValidationError (on "file") otherwise."""
    return document_keep(
        document_check(target=target, kind=kind, uploaded_file=uploaded_file, user=user)
    )


@transaction.atomic
def _document_store(data: bytes, *, status: str, fields: dict) -> Document:
    blob_name = files.store_encrypted(data)
    # The bytes are in storage before the row exists: if the row fails, remove them.
    try:
        document = Document(blob_name=blob_name, status=status, **fields)
        document.full_clean()
        document.save()
    except Exception:
        files.delete_blob(blob_name)
        raise
    return document


@transaction.atomic
def _document_record_infected(*, fields: dict, signature: str) -> Document:
    document = Document(
        status=Document.Status.INFECTED,
        signature=signature,
        scanned_at=timezone.now(),
        **fields,
    )
    document.full_clean()
    document.save()
    family = document.family.case_code
    logger.warning("malware refused in an upload to case file %s: %s", family, signature)
    return document


def document_scan(*, document: Document) -> str:
    """Scan one quarantined document; returns its status afterwards (unchanged when the
    scanner is still unreachable)."""
    if document.status != Document.Status.QUARANTINED or not settings.CLAMAV_SOCKET:
        return document.status
    try:
        verdict = _scan(files.read_decrypted(document.blob_name))
    except ScannerUnavailable:
        return document.status
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.status != Document.Status.QUARANTINED:
            return locked.status
        locked.scanned_at = timezone.now()
        if verdict is not None and verdict.infected:
            blob = locked.blob_name
            locked.status, locked.signature, locked.blob_name = (
                Document.Status.INFECTED,
                verdict.signature,
                "",
            )
            locked.save(update_fields=["status", "signature", "blob_name", "scanned_at"])
            transaction.on_commit(lambda: files.delete_blob(blob))
            logger.warning(
                "malware found in a quarantined upload (case file %s): %s",
                locked.family.case_code,
                verdict.signature,
            )
        else:
            locked.status = Document.Status.CLEAN
            locked.save(update_fields=["status", "scanned_at"])
        return locked.status


def documents_scan_quarantined(*, limit: int = 200) -> dict[str, int]:
    """What the beat task runs: scan what waited while clamd was unreachable."""
    counts: dict[str, int] = {}
    waiting = Document.objects.filter(status=Document.Status.QUARANTINED).order_by("uploaded_at")
    for document in waiting[:limit]:
        status = document_scan(document=document)
        counts[status] = counts.get(status, 0) + 1
    return counts


def documents_reencrypt() -> int:
    """Key rotation: rewrite every stored document and plan PDF with the newest key
    (`manage.py reencrypt` runs it after the fields). Returns how many were rewritten."""
    count = 0
    kept = Document.objects.filter(status__in=[Document.Status.CLEAN, Document.Status.QUARANTINED])
    for model, rows in ((Document, kept), (PlanVersion, PlanVersion.objects.all())):
        for pk, old in rows.order_by("pk").values_list("pk", "blob_name"):
            new = files.rotate_blob(old)
            with transaction.atomic():
                model.objects.filter(pk=pk, blob_name=old).update(blob_name=new)
            files.delete_blob(old)
            count += 1
    return count


def documents_erase(*, family: Family, today: datetime.date) -> int:
    """Retention: a case file's documents are erased with its identifying data (the bytes
    deleted from storage, the name emptied); what remains says only that a file existed."""
    erased = 0
    for document in Document.objects.filter(family=family).exclude(status=Document.Status.ERASED):
        blob = document.blob_name
        with transaction.atomic():
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.ERASED, blob_name="", original_name=None, erased_on=today
            )
        files.delete_blob(blob)
        erased += 1
    return erased


# --- the settlement plan: versions and acknowledgements --------------------------------------

# A signature counts for ACKNOWLEDGEMENT_VALID_DAYS (evidence.models) before the day it is
# checked against: today when signing, the submission date when recording a submission.


def plan_version_current(*, sponsorship: Sponsorship) -> PlanVersion:
    """The version matching the live plan, made (PDF stored encrypted) the first time this
    content is seen. A version is never changed afterwards: a new plan is a new version."""
    content = plan_content(sponsorship)
    existing = PlanVersion.objects.filter(
        sponsorship=sponsorship, content_hash=content.content_hash
    ).first()
    if existing:
        return existing
    pdf = plan_pdf(content)
    blob_name = files.store_encrypted(pdf)
    try:
        with transaction.atomic():
            return PlanVersion.objects.create(
                sponsorship=sponsorship,
                content_hash=content.content_hash,
                blob_name=blob_name,
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            )
    except Exception:
        files.delete_blob(blob_name)
        # Two members opening the new plan at once: the other request made it first.
        found = PlanVersion.objects.filter(
            sponsorship=sponsorship, content_hash=content.content_hash
        ).first()
        if found is None:
            raise
        return found


class PlanPdfChanged(Exception):
    """A version's stored PDF is not the one kept when it was made (its bytes' SHA-256
    differs, or it can no longer be decrypted): it is evidence no more, so never served."""


def plan_version_pdf(*, version: PlanVersion) -> bytes:
    """The version's PDF exactly as it was stored and signed, or PlanPdfChanged, logged as an
    error (mailed to the admins in production) for staff to restore it from a backup."""
    data: bytes | None
    try:
        data = files.read_decrypted(version.blob_name)
    except Exception as exc:  # a missing, swapped or corrupted blob: the same finding
        data, reason = None, f"unreadable ({type(exc).__name__})"
    else:
        digest = hashlib.sha256(data).hexdigest()
        reason = "" if version.pdf_sha256 and digest == version.pdf_sha256 else f"sha256 {digest}"
    if data is None or reason:
        logger.error(
            "settlement plan PDF failed its integrity check: version %s of case file %s, "
            "recorded sha256 %s, stored file %s",
            version.public_id,
            version.sponsorship.family.case_code,
            version.pdf_sha256 or "(none)",
            reason,
        )
        raise PlanPdfChanged(str(version.public_id))
    return data


@transaction.atomic
def plan_acknowledge(
    *, version: PlanVersion, user, typed_name: str, signed_on: datetime.date
) -> PlanAcknowledgement:
    """A member's acknowledgement of `version`, which must still be the live plan."""
    if plan_content(version.sponsorship).content_hash != version.content_hash:
        raise ValidationError(
            _("The plan changed while you were reading it. Read the new version, then sign.")
        )
    today = timezone.localdate()
    if signed_on > today:
        raise ValidationError({"signed_on": _("The date cannot be in the future.")})
    if signed_on < today - datetime.timedelta(days=ACKNOWLEDGEMENT_VALID_DAYS):
        raise ValidationError(
            {"signed_on": _("A signature more than 90 days old cannot be accepted: use today.")}
        )
    if signed_on < timezone.localtime(version.created_at).date():
        raise ValidationError({"signed_on": _("The date cannot be before this version existed.")})
    if len(typed_name.strip()) < 2:
        raise ValidationError({"typed_name": _("Type your full name.")})
    if PlanAcknowledgement.objects.filter(version=version, user=user).exists():
        raise ValidationError(_("You have already signed this version of the plan."))
    acknowledgement = PlanAcknowledgement(
        version=version, user=user, typed_name=typed_name.strip(), signed_on=signed_on
    )
    acknowledgement.full_clean()
    acknowledgement.save()
    return acknowledgement


def _member_name(status: SignatureStatus) -> str:
    user = status.membership.user
    return user.get_full_name() or user.email


SUBMISSION_REASONS = {
    "missing": _("has not signed it"),
    "changed": _("signed an earlier version"),
    "expired": _("signed more than 90 days before the submission date"),
    "late": _("signed after the submission date"),
}


def _names(rows: list[SignatureStatus]) -> str:
    return "; ".join(f"{_member_name(row)} ({SUBMISSION_REASONS[row.status]})" for row in rows)


def plan_submission_record(
    *, version: PlanVersion, submitted_on: datetime.date, user
) -> PlanSubmission:
    """Record that `version` of the settlement plan was submitted to IRCC on `submitted_on`.

    Refused (a ValidationError naming who must sign again; nothing stored) unless the
    version is still the live plan, the date is neither in the future nor before the
    version existed, and every current member of the group acknowledged this exact version
    no more than 90 days before that date and not after it. One record per version, never
    changed. Who may record it (case-management staff with the family in scope) is the
    admin view's check (evidence/admin.py)."""
    with transaction.atomic():
        locked = (
            PlanVersion.objects.select_for_update().select_related("sponsorship").get(pk=version.pk)
        )
        sponsorship = locked.sponsorship
        if PlanSubmission.objects.filter(version=locked).exists():
            raise ValidationError(
                _("This version of the plan is already recorded as submitted to IRCC.")
            )
        if submitted_on > timezone.localdate():
            raise ValidationError({"submitted_on": _("The date cannot be in the future.")})
        if submitted_on < timezone.localtime(locked.created_at).date():
            raise ValidationError(
                {"submitted_on": _("This version of the plan did not exist yet on that date.")}
            )
        live_hash = plan_content(sponsorship).content_hash
        if live_hash != locked.content_hash:
            # Nothing is made here (no new version stored): the members are named against
            # the live plan's version if someone already opened it, else all of them.
            live = PlanVersion.objects.filter(sponsorship=sponsorship, content_hash=live_hash)
            live_version = live.first()
            rows = signature_statuses(sponsorship, live_version or locked)
            if live_version is None:
                rows = [SignatureStatus(row.membership, "changed", None) for row in rows]
            pending = [row for row in rows if not row.is_signed]
            message = _(
                "Not recorded: the plan changed after this version. Submit and record the "
                "current plan instead."
            )
            if pending:
                message += " " + _("Must sign the current plan first: %(names)s.") % {
                    "names": _names(pending)
                }
            raise ValidationError(message)
        rows = signature_statuses(sponsorship, locked, as_of=submitted_on)
        if not rows:
            raise ValidationError(_("The sponsor group has no members to sign the plan."))
        pending = [row for row in rows if row.status != "signed"]
        if pending:
            raise ValidationError(
                _(
                    "Not recorded: every member must have signed this version of the plan in "
                    "the 90 days before the submission date. Must sign again: %(names)s."
                )
                % {"names": _names(pending)}
            )
        submission = PlanSubmission(version=locked, submitted_on=submitted_on, recorded_by=user)
        submission.full_clean()
        submission.save()
    return submission
