"""Writes to the case file: each service sets its transaction, validates, says why it refuses.

A refused action raises `ValidationError` with a sentence a case worker can act on and
changes nothing (every service is atomic). Messages never carry a name, a date of birth or a
location: only the case code.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import shown
from families.access import may_break_glass
from families.models import (
    CaseCodeSequence,
    CaseFileAccess,
    CaseNote,
    Consent,
    Family,
    FamilyStatusChange,
    HouseholdMember,
)

S = Family.Status

# The only status moves that exist. Matching and arrival are made by the sponsorship
# services (they create or update the sponsorship in the same transaction); a sponsorship
# that ends before arrival sends the family back to `approved` so it can be matched again.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REFERRED: frozenset({S.VETTING, S.CLOSED}),
    S.VETTING: frozenset({S.APPROVED, S.CLOSED}),
    S.APPROVED: frozenset({S.MATCHED, S.CLOSED}),
    S.MATCHED: frozenset({S.TRAVEL, S.ARRIVED, S.APPROVED, S.CLOSED}),
    S.TRAVEL: frozenset({S.ARRIVED, S.APPROVED, S.CLOSED}),
    S.ARRIVED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


def _next_case_code(year: int) -> str:
    """NK-<year>-<NNN>: the counter row is locked, so concurrent creations never share a code
    and a code is never reused (the counter only goes up)."""
    sequence, _created = CaseCodeSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"NK-{year}-{sequence.last_number:03d}"


def _refuse_future(day: datetime.date | None, what: str) -> None:
    if day is not None and day > timezone.localdate():
        raise ValidationError(
            _("%(what)s cannot be in the future (%(day)s).") % {"what": what, "day": shown(day)}
        )


@transaction.atomic
def family_create(
    *, created_by: User | None = None, family: Family | None = None, **fields
) -> Family:
    """Register a referred family with a fresh case code (other fields as keyword arguments,
    or an unsaved `family` built by the admin's form)."""
    family = family or Family()
    for name, value in fields.items():
        setattr(family, name, value)
    family.status = S.REFERRED
    family.case_code = _next_case_code(timezone.localdate().year)
    family.full_clean()
    family.save()
    FamilyStatusChange.objects.create(
        family=family,
        from_status=S.REFERRED,
        to_status=S.REFERRED,
        changed_by=created_by,
        reason=_("Referral registered."),
    )
    return family


@transaction.atomic
def family_transition(
    *,
    family: Family,
    to_status: str,
    changed_by: User | None,
    reason: str = "",
) -> FamilyStatusChange:
    """Move a family along its lifecycle; refuses a move that is not in ALLOWED_TRANSITIONS.

    The row is locked, so two staff clicking at once cannot both move it.
    """
    locked = Family.objects.select_for_update().get(pk=family.pk)
    if to_status not in ALLOWED_TRANSITIONS[locked.status]:
        raise ValidationError(
            _("Family %(code)s is “%(current)s”; it cannot move to “%(target)s”.")
            % {
                "code": locked.case_code,
                "current": S(locked.status).label,
                "target": S(to_status).label,
            }
        )
    from_status = locked.status
    locked.status = to_status
    locked.full_clean()
    locked.save(update_fields=["status", "updated_at"])
    family.status = locked.status
    return FamilyStatusChange.objects.create(
        family=locked,
        from_status=from_status,
        to_status=to_status,
        changed_by=changed_by,
        reason=reason,
    )


def family_start_vetting(
    *, family: Family, changed_by: User, reason: str = ""
) -> FamilyStatusChange:
    """The referral goes to IRCC for health, criminality and security screening."""
    return family_transition(
        family=family, to_status=S.VETTING, changed_by=changed_by, reason=reason
    )


@transaction.atomic
def family_approve(
    *,
    family: Family,
    changed_by: User,
    ircc_reference: str | None = None,
    vetted_on: datetime.date | None = None,
    reason: str = "",
) -> FamilyStatusChange:
    """IRCC vetting is complete: record its reference and date (required) and approve."""
    reference = (ircc_reference or family.ircc_reference or "").strip()
    vetted_on = vetted_on or family.vetted_on
    if not reference or vetted_on is None:
        raise ValidationError(
            _(
                "Family %(code)s cannot be approved before the IRCC vetting reference and "
                "the date vetting was completed are on file."
            )
            % {"code": family.case_code}
        )
    _refuse_future(vetted_on, _("The vetting date"))
    if S.APPROVED not in ALLOWED_TRANSITIONS[family.status]:
        # Refuse before writing the vetting data: a refused action changes nothing.
        family_transition(family=family, to_status=S.APPROVED, changed_by=changed_by)
    family.ircc_reference = reference
    family.vetted_on = vetted_on
    family.save(update_fields=["ircc_reference", "vetted_on", "updated_at"])
    return family_transition(
        family=family, to_status=S.APPROVED, changed_by=changed_by, reason=reason
    )


def family_book_travel(*, family: Family, changed_by: User, reason: str = "") -> FamilyStatusChange:
    """Travel to Canada is booked for a matched family."""
    return family_transition(
        family=family, to_status=S.TRAVEL, changed_by=changed_by, reason=reason
    )


@transaction.atomic
def family_close(*, family: Family, changed_by: User, reason: str) -> None:
    """Close a case file (withdrawn referral, or after support ended). A reason is required.

    A family with an active sponsorship is closed by ending the sponsorship, which records
    the outcome first.
    """
    if not reason.strip():
        raise ValidationError(_("Say why the case file is closed."))
    # The reverse relation only: families does not import sponsorship (docs/architecture.md).
    if family.sponsorships.filter(outcome="active").exists():
        raise ValidationError(
            _(
                "Family %(code)s has an active sponsorship: end the sponsorship (with its "
                "outcome) instead; that closes the case file."
            )
            % {"code": family.case_code}
        )
    family_transition(family=family, to_status=S.CLOSED, changed_by=changed_by, reason=reason)


# --- household ---------------------------------------------------------------------------


@transaction.atomic
def household_member_add(
    *,
    family: Family,
    given_name: str,
    relationship: str,
    family_name: str = "",
    date_of_birth: datetime.date | None = None,
    is_principal_applicant: bool = False,
    arrived_on: datetime.date | None = None,
) -> HouseholdMember:
    """Add a member; exactly one principal applicant; late joiners within the One-Year Window.

    Validation lives in HouseholdMember.clean() so the admin inline shares it.
    """
    Family.objects.select_for_update().filter(pk=family.pk).first()  # serialise additions
    member = HouseholdMember(
        family=family,
        given_name=given_name,
        family_name=family_name or None,
        date_of_birth=date_of_birth,
        relationship=relationship,
        is_principal_applicant=is_principal_applicant,
        arrived_on=arrived_on,
    )
    member.full_clean()
    member.save()
    return member


# --- consent -----------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    family: Family,
    topic: str,
    given_on: datetime.date,
    expires_on: datetime.date,
    recorded_by: User,
    details: str = "",
    audience: str = Consent.Audience.SPONSOR_GROUP,
) -> Consent:
    """Record the family's written, time-limited consent to share one topic."""
    consent = Consent(
        family=family,
        topic=topic,
        audience=audience,
        given_on=given_on,
        expires_on=expires_on,
        details=details or None,
        recorded_by=recorded_by,
    )
    consent.full_clean()
    consent.save()
    return consent


@transaction.atomic
def consent_withdraw(*, consent: Consent, withdrawn_on: datetime.date | None = None) -> Consent:
    """The family withdrew consent: sharing stops from that day."""
    withdrawn_on = withdrawn_on or timezone.localdate()
    if consent.withdrawn_on is not None:
        raise ValidationError(_("This consent was already withdrawn."))
    consent.withdrawn_on = withdrawn_on
    consent.full_clean()
    consent.save(update_fields=["withdrawn_on"])
    return consent


# --- notes and the access log ------------------------------------------------------------


@transaction.atomic
def case_note_add(
    *,
    family: Family,
    author: User,
    text: str,
    visibility: str = CaseNote.Visibility.STAFF,
    written_on: datetime.date | None = None,
) -> CaseNote:
    note = CaseNote(
        family=family,
        author=author,
        text=text,
        visibility=visibility,
        written_on=written_on or timezone.localdate(),
    )
    note.full_clean()
    note.save()
    return note


def case_file_access_log(
    *, family: Family, user: User, page: str, action: str = CaseFileAccess.Action.VIEW
) -> CaseFileAccess:
    """Record that `user` viewed/changed/exported/downloaded the family's case file."""
    return CaseFileAccess.objects.create(family=family, user=user, page=page[:200], action=action)


BREAK_GLASS_MIN_REASON = 10


@transaction.atomic
def case_file_break_glass(*, family: Family, user: User, reason: str, page: str) -> CaseFileAccess:
    """Open a family's file that is not assigned to `user`: the reason is recorded in the
    access log and shown to program managers (docs/security.md, "Need-to-know")."""
    reason = (reason or "").strip()
    if not may_break_glass(user):
        raise ValidationError(_("Only case workers open a file this way."))
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            {
                "reason": _(
                    "Say why you need this family's file (at least %(n)s characters): "
                    "program managers read it."
                )
                % {"n": BREAK_GLASS_MIN_REASON}
            }
        )
    access = CaseFileAccess(
        family=family,
        user=user,
        page=page[:200],
        action=CaseFileAccess.Action.BREAK_GLASS,
        reason=reason,
    )
    access.full_clean()
    access.save()
    return access
