"""Reads for documents and the settlement plan's acknowledgements."""

from __future__ import annotations

from django.db.models import QuerySet

from evidence.access import upload_targets
from evidence.models import Document
from sponsorship.access import PortalAccess
from sponsorship.models import Sponsorship


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


def target_choices(access: PortalAccess) -> list[tuple[str, str]]:
    """The things this member may attach evidence to, as (value, label) for a select."""
    sponsorship = access.sponsorship
    allowed = set(upload_targets(access))
    choices: list[tuple[str, str]] = []
    if "disbursement" in allowed:
        for d in sponsorship.disbursements.order_by("-paid_on", "-pk"):
            choices.append((f"disbursement:{d.public_id}", f"{d} · {d.paid_on:%Y-%m-%d}"))
    if "in_kind_item" in allowed:
        for item in sponsorship.in_kind_items.order_by("-given_on", "-pk"):
            choices.append((f"in_kind_item:{item.public_id}", str(item)))
    if "milestone" in allowed:
        for m in sponsorship.milestones.order_by("due_on", "pk"):
            choices.append((f"milestone:{m.public_id}", str(m)))
    if "review" in allowed:
        for r in sponsorship.reviews.order_by("scheduled_for", "pk"):
            choices.append((f"review:{r.public_id}", str(r)))
    return choices
