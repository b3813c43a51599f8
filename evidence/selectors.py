"""Reads for documents and the settlement plan's acknowledgements."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from core.money import format_money
from evidence.access import upload_targets
from evidence.models import (
    ACKNOWLEDGEMENT_VALID_DAYS,
    Document,
    PlanAcknowledgement,
    PlanSubmission,
    PlanVersion,
)
from sponsorship.access import PortalAccess
from sponsorship.models import Membership, Sponsorship


def documents_for_group(sponsorship: Sponsorship) -> QuerySet[Document]:
    """What the group sees: its documents that are clean or still waiting for the scan."""
    return (
        Document.objects.filter(
            sponsorship=sponsorship,
            status__in=[Document.Status.CLEAN, Document.Status.QUARANTINED],
        )
        .select_related("disbursement", "milestone", "in_kind_item", "review", "uploaded_by")
        .order_by("-uploaded_at", "-pk")
    )


def target_choices(access: PortalAccess) -> list[tuple[str, list[tuple[str, str]]]]:
    """The things this member may attach evidence to, grouped for a select."""
    sponsorship = access.sponsorship
    allowed = set(upload_targets(access))
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if "disbursement" in allowed:
        payments = [
            (
                f"disbursement:{d.public_id}",
                _("%(kind)s, month %(month)s: %(amount)s paid %(day)s")
                % {
                    "kind": d.get_kind_display(),
                    "month": d.month_number,
                    "amount": format_money(d.amount),
                    "day": date_format(d.paid_on),
                },
            )
            for d in sponsorship.disbursements.order_by("-paid_on", "-pk")
        ]
        groups.append((str(_("Payments to the family")), payments))
    if "in_kind_item" in allowed:
        items = [
            (f"in_kind_item:{item.public_id}", str(item))
            for item in sponsorship.in_kind_items.order_by("-given_on", "-pk")
        ]
        groups.append((str(_("In-kind items")), items))
    if "milestone" in allowed:
        plan = [
            (f"milestone:{m.public_id}", m.title)
            for m in sponsorship.milestones.order_by("due_on", "pk")
        ]
        groups.append((str(_("Settlement plan items")), plan))
    if "review" in allowed:
        reviews = [
            (f"review:{r.public_id}", r.label)
            for r in sponsorship.reviews.order_by("scheduled_for", "pk")
        ]
        groups.append((str(_("Reviews")), reviews))
    return [(label, options) for label, options in groups if options]


# --- who has signed the settlement plan -------------------------------------------------------


@dataclass(frozen=True)
class SignatureStatus:
    membership: Membership
    status: str  # signed, late, expired, changed, missing
    acknowledgement: PlanAcknowledgement | None

    @property
    def label(self) -> str:
        return str(SIGNATURE_LABELS[self.status])

    @property
    def is_signed(self) -> bool:
        """Signed this version: nothing for the member to do."""
        return self.status in ("signed", "late")


SIGNATURE_LABELS = {
    "signed": _("Signed"),
    "late": _("Signed after the plan was submitted to IRCC"),
    "expired": _("Signed more than 90 days ago: sign again"),
    "changed": _("Signed an earlier version: sign the new plan"),
    "missing": _("Not signed"),
}


def signature_statuses(
    sponsorship: Sponsorship,
    version: PlanVersion,
    today: datetime.date | None = None,
    *,
    as_of: datetime.date | None = None,
) -> list[SignatureStatus]:
    """Each group member's standing against `version`. A signature counts for 90 days
    before the day it is checked against: `as_of` when given (a submission being
    recorded), else the day this version was submitted to IRCC if it was, else today; one
    dated after that day is "late" (after a recorded submission: signed, but not part of
    it). Four queries."""
    if as_of is None:
        submitted = PlanSubmission.objects.filter(version=version).values_list(
            "submitted_on", flat=True
        )
        as_of = submitted.first() or today or timezone.localdate()
    oldest_valid = as_of - datetime.timedelta(days=ACKNOWLEDGEMENT_VALID_DAYS)
    members = list(Membership.objects.filter(group_id=sponsorship.group_id).select_related("user"))
    on_current: dict[int, PlanAcknowledgement] = {}
    on_earlier: dict[int, PlanAcknowledgement] = {}
    for signed in PlanAcknowledgement.objects.filter(
        version__sponsorship=sponsorship, user__in=[m.user_id for m in members]
    ).order_by("signed_on", "pk"):
        (on_current if signed.version_id == version.pk else on_earlier)[signed.user_id] = signed
    rows = []
    for membership in members:
        ack = on_current.get(membership.user_id) or on_earlier.get(membership.user_id)
        if ack is None:
            status = "missing"
        elif ack.version_id != version.pk:
            status = "changed"
        elif ack.signed_on > as_of:
            status = "late"
        elif ack.signed_on < oldest_valid:
            status = "expired"
        else:
            status = "signed"
        rows.append(SignatureStatus(membership, status, ack))
    return rows


def plan_submissions(sponsorship: Sponsorship) -> QuerySet[PlanSubmission]:
    """The plan versions HanVoice recorded as submitted to IRCC, newest first."""
    return (
        PlanSubmission.objects.filter(version__sponsorship=sponsorship)
        .select_related("version", "recorded_by")
        .order_by("-submitted_on", "-pk")
    )
